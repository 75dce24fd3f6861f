// float32 convolutions through oneDNN (the library PyTorch calls for its CPU convolutions), the
// fast path of engine/cpu/conv.h's conv2d. Same layouts as the readable im2col twin: NHWC
// activations, OHWI filters; oneDNN picks its own blocked filter layout and we reorder the
// (small) filters in and out. The ReLU after the bias runs inside the convolution (post-op).
// Primitives are created once per shape and thread count and kept per calling thread (each lane
// worker has its own), so a training step creates none after the first.
// Backward accumulates (din +=, dw +=, db +=) like the twin: oneDNN overwrites, so its results
// land in a per-thread scratch buffer that is then added (the filter's by a summing reorder).
#pragma once
#include "base/conv_shape.h"  // defines: ConvShape

namespace mlcn::cpu::dnnl_conv {

// Each call first tries the polyphase Winograd form (conv_winograd.h: stride 2, 6x6 filters, the
// mlcn1 primary convs), then oneDNN's direct kernels where prefer() says they are faster. It
// returns false, having done nothing, where the library paths are off (library.h) or neither
// applies; the caller then runs the twin.
// out (B, OH, OW, K) = [relu](conv(in (B, H, W, C), w (K, kh, kw, C)) + b (K)) [b may be null]
bool forward(float* out, const float* in, const float* w, const float* b, bool relu, const ConvShape& s);
// Accumulates dw (K, kh, kw, C) and db (K) [may be null] from dout (B, OH, OW, K) and in.
bool backward_weights(float* dw, float* db, const float* dout, const float* in, const ConvShape& s);
// Accumulates din (B, H, W, C) from dout (B, OH, OW, K) and w.
bool backward_data(float* din, const float* dout, const float* w, const ConvShape& s);

enum class Direction { Forward, BackwardWeights, BackwardData };
// The fixed rule, from timing both paths per shape and direction at batch 100 on 1 and 2 threads
// (docs/results.md): the twin's im2col + oneDNN GEMM runs at the GEMM's rate where the GEMM is
// large, so oneDNN's convolution wins only on outputs at least 4 pixels wide with fewer than 256
// filters, and there for the forward pass, the input gradient of inputs with 4 or more channels
// and the filter gradient of inputs with fewer than 4 (the 1-channel first and deep-level convs).
// A rule and not a run-time timing race, so that every run and rank takes the same path.
bool prefer(const ConvShape& s, Direction d);
// The instruction set oneDNN dispatches to on this machine ("avx512_core", "avx2", ...); the
// environment variable DNNL_MAX_CPU_ISA caps it (the AVX2 fallback is tested that way).
const char* isa();
// Primitives created by this thread so far (tests check that repeated steps create none).
long primitives_created();

}  // namespace mlcn::cpu::dnnl_conv
