// Launchers of the convolutions (kernels/conv.cu: cuDNN; kernels/depthwise.cu: handwritten),
// same contract as engine/cpu/conv.h: NHWC activations, OHWI filters (K, kh, kw, C) which are
// cuDNN's NHWC filter format, backward passes accumulate; din, db (conv2d) may be null.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include "base/conv_shape.h"  // defines: ConvShape

namespace mlcn::kernels {

// out (B, OH, OW, K) = conv(in (B, H, W, C), w (K, kh, kw, C)) + b (K) [b may be null]
void conv2d_forward_cuda(float* out, const float* in, const float* w, const float* b, const ConvShape& s,
                         cudaStream_t st);
// din (B, H, W, C) [may be null], dw (K, kh, kw, C) [may be null], db (K) [may be null] +=
void conv2d_backward_cuda(float* din, float* dw, float* db, const float* dout, const float* in, const float* w,
                          const ConvShape& s, cudaStream_t st);
// out (B, OH, OW, C) = depthwise conv of in (B, H, W, C) with w (C, kh, kw); no bias
void depthwise_forward_cuda(float* out, const float* in, const float* w, const ConvShape& s, cudaStream_t st);
// din (B, H, W, C) [may be null], dw (C, kh, kw) +=
void depthwise_backward_cuda(float* din, float* dw, const float* dout, const float* in, const float* w,
                             const ConvShape& s, cudaStream_t st);

// Number of convolution shapes whose cuDNN algorithms have been chosen (for tests and logs).
size_t conv_plans_cached();

}  // namespace mlcn::kernels
