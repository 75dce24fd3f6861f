// Launchers of the losses (kernels/losses.cu); formulas in engine/cpu/loss.h. The forwards
// return the value to the host (they wait for the stream); labels are host arrays (B), copied
// to the device on `s`. The backwards accumulate g * dloss into the gradient.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

namespace mlcn::kernels {

// y (B, J) lengths, labels (B) host
float margin_forward_cuda(const float* y, const int32_t* labels, int64_t B, int64_t J, cudaStream_t s);
void margin_backward_cuda(float* dy, float g, const float* y, const int32_t* labels, int64_t B, int64_t J,
                          cudaStream_t s);
// a, target (n)
float mse_forward_cuda(const float* a, const float* target, int64_t n, cudaStream_t s);
void mse_backward_cuda(float* da, float g, const float* a, const float* target, int64_t n, cudaStream_t s);

}  // namespace mlcn::kernels
