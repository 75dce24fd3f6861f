// The shape of one 2-D convolution, shared by the CPU twins (engine/cpu/conv.h) and the CUDA
// kernels (kernels/conv.cuh): a leaf type that includes nothing of the engine.
// Activations are NHWC (B, H, W, C); filters OHWI (K, kh, kw, C / groups).
#pragma once
#include <cstdint>

namespace mlcn {

struct ConvShape {
  int64_t B = 0, H = 0, W = 0, C = 0;  // input (B, H, W, C)
  int64_t K = 0, kh = 0, kw = 0;       // filters (K, kh, kw, C / groups); depthwise: (C, kh, kw)
  int64_t stride = 1, pad_h = 0, pad_w = 0;
  int64_t OH = 0, OW = 0;              // output (B, OH, OW, K)
  // Grouped conv2d: output channels [g K/G, (g+1) K/G) see only input channels
  // [g C/G, (g+1) C/G) (cuDNN's group count; lanes of one shape run as one conv this way).
  int64_t groups = 1;
};
// Fills OH/OW (and pads for `same`). Throws when the kernel does not fit the input.
ConvShape make_conv_shape(int64_t B, int64_t H, int64_t W, int64_t C, int64_t K, int64_t kh,
                          int64_t kw, int64_t stride, bool same);

}  // namespace mlcn
