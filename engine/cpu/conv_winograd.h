// float32 stride-2 convolutions with even filters as Winograd convolutions (oneDNN's F(4x4, 3x3)
// kernels), the fastest path for the mlcn1 primary-capsule conv (6x6, stride 2, 64 -> 128
// channels at width 4): measured on one core, 12 ms forward, 26 ms input gradient and 14 ms
// filter gradient against 34, 33 and 37 ms for oneDNN's direct kernels at batch 100
// (docs/results.md).
// The stride is removed exactly by splitting the input into its 4 polyphase components (space to
// depth): with x'[b, i, j, (2p + q) C + c] = x[b, 2i + p, 2j + q, c] and
// w'[k, u, v, (2p + q) C + c] = w[k, 2u + p, 2v + q, c], the stride-2 kh x kw conv of x by w is
// the stride-1 (kh/2) x (kw/2) conv of x' by w'. The 3x3 case goes to Winograd. Gradients come
// back through the same maps (depth to space).
// Each call returns false, having done nothing, where the shape does not qualify (applies()) or
// oneDNN has no Winograd kernel for it on this machine; the caller then takes another path.
#pragma once
#include "base/conv_shape.h"  // defines: ConvShape

namespace mlcn::cpu::winograd {

// Stride 2, 6x6 filters, no padding, even input sizes, 4C and K multiples of 16, one group.
bool applies(const ConvShape& s);
// out (B, OH, OW, K) = [relu](conv(in (B, H, W, C), w (K, kh, kw, C)) + b (K)) [b may be null]
bool forward(float* out, const float* in, const float* w, const float* b, bool relu, const ConvShape& s);
// Accumulates dw (K, kh, kw, C) and db (K) [may be null] from dout (B, OH, OW, K) and in.
bool backward_weights(float* dw, float* db, const float* dout, const float* in, const ConvShape& s);
// Accumulates din (B, H, W, C) from dout (B, OH, OW, K) and w.
bool backward_data(float* din, const float* dout, const float* w, const ConvShape& s);

}  // namespace mlcn::cpu::winograd
