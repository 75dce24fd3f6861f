// CPU Adam update (Keras 2.2 form, spec 1.10): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr_t m / (sqrt(v) + eps) with lr_t = lr sqrt(1-b2^t)/(1-b1^t).
#pragma once
#include <cstdint>

namespace mlcn::cpu {

// p, g, m, v: (n)
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, double lr_t, double b1, double b2, double eps);

}  // namespace mlcn::cpu
