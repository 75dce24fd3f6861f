// Launchers of the elementwise kernels (kernels/elementwise.cu). Host-only declarations, so
// plain C++ (tests, benchmarks) can include this. Backward launchers accumulate (+=) into the
// input gradient, like their CPU twins in engine/cpu/elementwise.h; bias_add adds in place.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

namespace mlcn::kernels {

void add_inplace_cuda(float* dst, const float* src, int64_t n, cudaStream_t s);  // dst (n) += src (n)
void axpy_cuda(float* y, const float* x, float k, int64_t n, cudaStream_t s);  // y (n) += k x (n)
void relu_forward_cuda(float* out, const float* in, int64_t n, cudaStream_t s);  // (n)
// din (n) += dout (n) where out (n) > 0
void relu_backward_cuda(float* din, const float* dout, const float* out, int64_t n, cudaStream_t s);
void sigmoid_forward_cuda(float* out, const float* in, int64_t n, cudaStream_t s);  // (n)
// din (n) += dout (n) * out (n) * (1 - out)
void sigmoid_backward_cuda(float* din, const float* dout, const float* out, int64_t n, cudaStream_t s);
void scale_inplace_cuda(float* x, float k, int64_t n, cudaStream_t s);  // x (n) *= k
// out (rows, cols) += b (cols) broadcast over rows
void bias_add_cuda(float* out, const float* b, int64_t rows, int64_t cols, cudaStream_t s);
// db (cols) += column sums of dout (rows, cols)
void bias_backward_cuda(float* db, const float* dout, int64_t rows, int64_t cols, cudaStream_t s);
// out (rows, cols) = relu(out + b (cols)) in place; b may be null (ReLU only)
void bias_relu_forward_cuda(float* out, const float* b, int64_t rows, int64_t cols, cudaStream_t s);
// dpre (rows, cols) = dout where out > 0 (assigned; NaN kept); db (cols) += column sums of dpre [may be null]
void relu_bias_backward_cuda(float* dpre, float* db, const float* dout, const float* out, int64_t rows, int64_t cols,
                             cudaStream_t s);

}  // namespace mlcn::kernels
