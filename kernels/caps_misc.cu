// Length, mask, lane dropout scaling and lane concatenation: small, bandwidth-bound kernels
// (rows of a few floats), one thread per row or per element. length keeps the CPU's
// sequential sum over D, so it matches the CPU twin up to FMA contraction.
#include "kernels/cuda_context.h"

#include "kernels/caps_misc.cuh"
#include "kernels/device_math.cuh"

namespace mlcn::kernels {
namespace {

__global__ void length_forward_kernel(float* y, const float* v, int64_t rows, int64_t D) {
  MLCN_GRID_STRIDE(r, rows) {
    const float* vr = v + r * D;
    float n2 = 0.f;
    for (int64_t d = 0; d < D; ++d) n2 += vr[d] * vr[d];
    y[r] = sqrtf(n2 + float(kLengthEps));
  }
}

__global__ void length_backward_kernel(float* dv, const float* dy, const float* v, const float* y, int64_t rows,
                                       int64_t D) {
  MLCN_GRID_STRIDE(e, rows * D) {
    const int64_t r = e / D;
    dv[e] += dy[r] * v[e] / y[r];
  }
}

__global__ void mask_forward_kernel(float* out, const float* v, const int32_t* sel, int64_t B, int64_t J, int64_t D) {
  MLCN_GRID_STRIDE(e, B * J * D) {
    const int64_t b = e / (J * D), j = (e / D) % J;
    out[e] = j == sel[b] ? v[e] : 0.f;
  }
}

__global__ void mask_backward_kernel(float* dv, const float* dout, const int32_t* sel, int64_t B, int64_t J,
                                     int64_t D) {
  MLCN_GRID_STRIDE(e, B * D) {
    const int64_t b = e / D, d = e % D;
    const int64_t off = (b * J + sel[b]) * D + d;
    dv[off] += dout[off];
  }
}

__global__ void lane_scale_kernel(float* out, const float* in, const float* scale, int64_t n, int64_t L) {
  MLCN_GRID_STRIDE(e, n) out[e] = in[e] * scale[e % L];
}

__global__ void concat_copy_kernel(float* dst, const float* src, int64_t rows, int64_t D, int64_t Dt, int64_t off,
                                   bool into_total) {
  MLCN_GRID_STRIDE(e, rows * D) {
    const int64_t r = e / D, d = e % D;
    if (into_total) dst[r * Dt + off + d] = src[e];
    else dst[e] += src[r * Dt + off + d];
  }
}

}  // namespace

void length_forward_cuda(float* y, const float* v, int64_t rows, int64_t D, cudaStream_t s) {
  if (rows <= 0) return;
  length_forward_kernel<<<grid_for(rows), kThreads, 0, s>>>(y, v, rows, D);
  MLCN_CUDA_LAUNCH_CHECK();
}

void length_backward_cuda(float* dv, const float* dy, const float* v, const float* y, int64_t rows, int64_t D,
                          cudaStream_t s) {
  if (rows <= 0 || D <= 0) return;
  length_backward_kernel<<<grid_for(rows * D), kThreads, 0, s>>>(dv, dy, v, y, rows, D);
  MLCN_CUDA_LAUNCH_CHECK();
}

void mask_forward_cuda(float* out, const float* v, const int32_t* sel, int64_t B, int64_t J, int64_t D,
                       cudaStream_t s) {
  if (B <= 0 || J <= 0 || D <= 0) return;
  mask_forward_kernel<<<grid_for(B * J * D), kThreads, 0, s>>>(out, v, sel, B, J, D);
  MLCN_CUDA_LAUNCH_CHECK();
}

void mask_backward_cuda(float* dv, const float* dout, const int32_t* sel, int64_t B, int64_t J, int64_t D,
                        cudaStream_t s) {
  if (B <= 0 || J <= 0 || D <= 0) return;
  mask_backward_kernel<<<grid_for(B * D), kThreads, 0, s>>>(dv, dout, sel, B, J, D);
  MLCN_CUDA_LAUNCH_CHECK();
}

void lane_scale_cuda(float* out, const float* in, const float* scale, int64_t B, int64_t J, int64_t L,
                     cudaStream_t s) {
  if (B <= 0 || J <= 0 || L <= 0) return;
  lane_scale_kernel<<<grid_for(B * J * L), kThreads, 0, s>>>(out, in, scale, B * J * L, L);
  MLCN_CUDA_LAUNCH_CHECK();
}

void concat_copy_cuda(float* dst, const float* src, int64_t rows, int64_t D, int64_t D_total, int64_t off,
                      bool into_total, cudaStream_t s) {
  if (rows <= 0 || D <= 0) return;
  MLCN_CHECK(off >= 0 && off + D <= D_total, "concat_copy: columns [" << off << ", " << off + D << ") of " << D_total);
  concat_copy_kernel<<<grid_for(rows * D), kThreads, 0, s>>>(dst, src, rows, D, D_total, off, into_total);
  MLCN_CUDA_LAUNCH_CHECK();
}

}  // namespace mlcn::kernels
