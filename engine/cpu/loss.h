// CPU losses (spec 1.8). margin: mean over the batch of
//   sum_j T_j max(0, m+ - y_j)^2 + lambda (1 - T_j) max(0, y_j - m-)^2,  m+ 0.9, m- 0.1, lambda 0.5;
// mse: mean over all elements of (a - target)^2. Backward accumulates scaled by the upstream g.
#pragma once
#include <cstdint>

#include "base/capsule_constants.h"  // defines: kMarginPlus, kMarginMinus, kMarginLambda


namespace mlcn::cpu {

// y: (B, J) lengths; labels: (B)
template <class T> T margin_forward(const T* y, const int32_t* labels, int64_t B, int64_t J);
template <class T> void margin_backward(T* dy, T g, const T* y, const int32_t* labels, int64_t B, int64_t J);
// a, target: (n)
template <class T> T mse_forward(const T* a, const T* target, int64_t n);
template <class T> void mse_backward(T* da, T g, const T* a, const T* target, int64_t n);

}  // namespace mlcn::cpu
