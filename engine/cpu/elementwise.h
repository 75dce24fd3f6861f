// CPU elementwise kernels (templated on the scalar so gradient checks run in double).
// Backward kernels accumulate (+=) into the input gradient.
#pragma once
#include <cstdint>

namespace mlcn::cpu {

template <class T> void relu_forward(T* out, const T* in, int64_t n);             // (n)
template <class T> void relu_backward(T* din, const T* dout, const T* out, int64_t n);
// The fused bias + ReLU of a conv or dense layer: out (rows, cols) = relu(out + b) in place,
// b (cols) may be null (ReLU only).
template <class T> void bias_relu_forward(T* out, const T* b, int64_t rows, int64_t cols);
// Its backward: dpre (rows, cols) = dout where out > 0 (NaN kept, as relu_backward; assigned,
// not accumulated), and db (cols) += the column sums of dpre [db may be null].
template <class T> void relu_bias_backward(T* dpre, T* db, const T* dout, const T* out, int64_t rows, int64_t cols);
template <class T> void sigmoid_forward(T* out, const T* in, int64_t n);          // (n)
template <class T> void sigmoid_backward(T* din, const T* dout, const T* out, int64_t n);
template <class T> void add_inplace(T* dst, const T* src, int64_t n);             // dst += src
// Number of NaN or Inf elements of x (n); the CPU twin of the kernels' count_non_finite.
template <class T> int64_t count_non_finite(const T* x, int64_t n);

}  // namespace mlcn::cpu
