// CPU Adam update (Keras 2.2 form, spec 1.10): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p = keep p - lr_t m / (sqrt(v) + eps) with lr_t = lr sqrt(1-b2^t)/(1-b1^t). keep = 1 - lr wd
// is AdamW's decoupled weight decay (Loshchilov & Hutter; PyTorch's AdamW order); 1 = Adam.
#pragma once
#include <cstdint>

namespace mlcn::cpu {

// p, g, m, v: (n)
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, double lr_t, double b1, double b2, double eps,
                 double keep = 1);

}  // namespace mlcn::cpu
