// CPU convolutions on NHWC activations with OHWI filters (K, kh, kw, C): the layout that makes
// im2col rows contiguous runs of C and matches cuDNN's NHWC filter format. Checkpoints use
// PyTorch's (K, C, kh, kw); the model converts on import/export.
// conv2d: im2col + one GEMM per chunk of images (per group when grouped); depthwise: direct loops.
#pragma once
#include <cstdint>

#include "base/conv_shape.h"  // defines: ConvShape, make_conv_shape

namespace mlcn::cpu {


// out (B, OH, OW, K) = conv(in (B, H, W, C), w (K, kh, kw, C)) + b (K) [b may be null]
template <class T>
void conv2d_forward(T* out, const T* in, const T* w, const T* b, const ConvShape& s);
// Accumulates din (B,H,W,C) [may be null], dw (K,kh,kw,C) [may be null: then db is ignored and only
// din is computed], db (K) [may be null].
template <class T>
void conv2d_backward(T* din, T* dw, T* db, const T* dout, const T* in, const T* w, const ConvShape& s);

// The per-group form of conv2d for groups > 1 (conv_grouped.cpp): each group's channels are
// gathered into contiguous buffers and convolved with the groups == 1 code above.
template <class T>
void conv2d_grouped_forward(T* out, const T* in, const T* w, const T* b, const ConvShape& s);
template <class T>
void conv2d_grouped_backward(T* din, T* dw, T* db, const T* dout, const T* in, const T* w, const ConvShape& s);

// Depthwise: out (B, OH, OW, C) = per-channel conv of in (B,H,W,C) with w (C, kh, kw); no bias.
template <class T>
void depthwise_forward(T* out, const T* in, const T* w, const ConvShape& s);
template <class T>
void depthwise_backward(T* din, T* dw, const T* dout, const T* in, const T* w, const ConvShape& s);

}  // namespace mlcn::cpu
