// Launchers of the small capsule kernels (kernels/caps_misc.cu): length, mask, lane dropout
// scaling and lane concatenation. Semantics as engine/cpu/capsule.h and ops/capsule_ops.cpp:
// forwards assign their output; backwards accumulate (+=). Every array is in device memory
// (sel and scale too, so the head can be captured in a CUDA graph).
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

namespace mlcn::kernels {

// y (rows) = sqrt(|v|^2 + eps) of v (rows, D)
void length_forward_cuda(float* y, const float* v, int64_t rows, int64_t D, cudaStream_t s);
// dv (rows, D) += dy (rows) v / y
void length_backward_cuda(float* dv, const float* dy, const float* v, const float* y, int64_t rows, int64_t D,
                          cudaStream_t s);
// out (B, J*D) = v (B, J, D) where j == sel[b], else 0; sel: device (B)
void mask_forward_cuda(float* out, const float* v, const int32_t* sel, int64_t B, int64_t J, int64_t D, cudaStream_t s);
// dv (B, J, D) += dout (B, J*D) on the selected class only; sel: device (B)
void mask_backward_cuda(float* dv, const float* dout, const int32_t* sel, int64_t B, int64_t J, int64_t D,
                        cudaStream_t s);
// out (B, J, L) = in (B, J, L) * scale[l]; scale: device (L)
void lane_scale_cuda(float* out, const float* in, const float* scale, int64_t B, int64_t J, int64_t L, cudaStream_t s);
// into_total: dst (rows, D_total) columns [off, off+D) = src (rows, D);
// else:       dst (rows, D) += src (rows, D_total) columns [off, off+D)
void concat_copy_cuda(float* dst, const float* src, int64_t rows, int64_t D, int64_t D_total, int64_t off,
                      bool into_total, cudaStream_t s);

}  // namespace mlcn::kernels
