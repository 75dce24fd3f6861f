// CPU margin and MSE losses; see loss.h.
#include "engine/cpu/loss.h"

#include <algorithm>

namespace mlcn::cpu {

namespace {
// max(0, x) that keeps NaN (std::max(0, NaN) is 0, which would hide a diverged model).
template <class T> T pos(T x) { return x > T(0) || x != x ? x : T(0); }
}  // namespace

template <class T> T margin_forward(const T* y, const int32_t* labels, int64_t B, int64_t J) {
  T total = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < J; ++j) {
      T yj = y[b * J + j];
      if (j == labels[b]) {
        T m = pos(T(kMarginPlus) - yj);
        total += m * m;
      } else {
        T m = pos(yj - T(kMarginMinus));
        total += T(kMarginLambda) * m * m;
      }
    }
  return total / T(B);
}

template <class T> void margin_backward(T* dy, T g, const T* y, const int32_t* labels, int64_t B, int64_t J) {
  const T scale = g / T(B);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < J; ++j) {
      T yj = y[b * J + j];
      if (j == labels[b]) dy[b * J + j] += scale * T(-2) * pos(T(kMarginPlus) - yj);
      else dy[b * J + j] += scale * T(2 * kMarginLambda) * pos(yj - T(kMarginMinus));
    }
}

template <class T> T mse_forward(const T* a, const T* target, int64_t n) {
  T total = 0;
#pragma omp parallel for reduction(+ : total) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) total += (a[i] - target[i]) * (a[i] - target[i]);
  return total / T(n);
}

template <class T> void mse_backward(T* da, T g, const T* a, const T* target, int64_t n) {
  const T scale = T(2) * g / T(n);
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) da[i] += scale * (a[i] - target[i]);
}

#define MLCN_INSTANTIATE(T)                                                        \
  template T margin_forward<T>(const T*, const int32_t*, int64_t, int64_t);        \
  template void margin_backward<T>(T*, T, const T*, const int32_t*, int64_t, int64_t); \
  template T mse_forward<T>(const T*, const T*, int64_t);                          \
  template void mse_backward<T>(T*, T, const T*, const T*, int64_t);
MLCN_INSTANTIATE(float)
MLCN_INSTANTIATE(double)
#undef MLCN_INSTANTIATE

}  // namespace mlcn::cpu
