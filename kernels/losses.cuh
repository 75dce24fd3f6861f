// Launchers of the losses (kernels/losses.cu); formulas in engine/cpu/loss.h. Every array is in
// device memory: a forward writes the mean to `loss` (1) without waiting for the stream, labels
// are (B) int32, and a backward accumulates g * dloss into the gradient with g (1) read on the
// device, so the head's losses can run inside a captured CUDA graph.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

namespace mlcn::kernels {

// loss (1), y (B, J) lengths, labels (B)
void margin_forward_cuda(float* loss, const float* y, const int32_t* labels, int64_t B, int64_t J, cudaStream_t s);
// dy (B, J) +=, g (1)
void margin_backward_cuda(float* dy, const float* g, const float* y, const int32_t* labels, int64_t B, int64_t J,
                          cudaStream_t s);
// loss (1), a, target (n)
void mse_forward_cuda(float* loss, const float* a, const float* target, int64_t n, cudaStream_t s);
// da (n) +=, g (1)
void mse_backward_cuda(float* da, const float* g, const float* a, const float* target, int64_t n, cudaStream_t s);

}  // namespace mlcn::kernels
