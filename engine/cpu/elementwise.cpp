// CPU elementwise kernels: ReLU (alone and fused with a bias), sigmoid, accumulation, the non-finite count. ReLU propagates
// NaN (a NaN input gives a NaN output and gradient) so a diverged model never produces a finite
// loss.
#include "engine/cpu/elementwise.h"

#include <cmath>

namespace mlcn::cpu {

template <class T> void relu_forward(T* out, const T* in, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > T(0) || in[i] != in[i] ? in[i] : T(0);
}
template <class T> void relu_backward(T* din, const T* dout, const T* out, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) din[i] += out[i] > T(0) ? dout[i] : out[i] != out[i] ? out[i] : T(0);
}
template <class T> void bias_relu_forward(T* out, const T* b, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols > (1 << 16))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const T x = b ? out[r * cols + c] + b[c] : out[r * cols + c];
      out[r * cols + c] = x > T(0) || x != x ? x : T(0);
    }
}
template <class T> void relu_bias_backward(T* dpre, T* db, const T* dout, const T* out, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dpre[i] = out[i] > T(0) ? dout[i] : out[i] != out[i] ? out[i] : T(0);
  if (!db) return;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) db[c] += dpre[r * cols + c];
}
template <class T> void sigmoid_forward(T* out, const T* in, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) out[i] = T(1) / (T(1) + std::exp(-in[i]));
}
template <class T> void sigmoid_backward(T* din, const T* dout, const T* out, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) din[i] += dout[i] * out[i] * (T(1) - out[i]);
}
template <class T> void add_inplace(T* dst, const T* src, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}
template <class T> int64_t count_non_finite(const T* x, int64_t n) {
  int64_t bad = 0;
#pragma omp parallel for reduction(+ : bad) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) bad += std::isfinite(x[i]) ? 0 : 1;
  return bad;
}

#define MLCN_INSTANTIATE(T)                                              \
  template void relu_forward<T>(T*, const T*, int64_t);                  \
  template void relu_backward<T>(T*, const T*, const T*, int64_t);       \
  template void bias_relu_forward<T>(T*, const T*, int64_t, int64_t);    \
  template void relu_bias_backward<T>(T*, T*, const T*, const T*, int64_t, int64_t); \
  template void sigmoid_forward<T>(T*, const T*, int64_t);               \
  template void sigmoid_backward<T>(T*, const T*, const T*, int64_t);    \
  template void add_inplace<T>(T*, const T*, int64_t);                   \
  template int64_t count_non_finite<T>(const T*, int64_t);
MLCN_INSTANTIATE(float)
MLCN_INSTANTIATE(double)
#undef MLCN_INSTANTIATE

}  // namespace mlcn::cpu
