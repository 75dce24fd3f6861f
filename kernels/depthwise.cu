// Depthwise convolution (the mlcn2 lanes' 6x6 separable stage), handwritten: channels are the
// fastest axis of NHWC, so threads of consecutive channels read consecutive addresses.
//   forward: one thread per output element, taps summed in the CPU's (i, j) order;
//   din:     one thread per input element gathers the outputs whose window covers it (no atomics);
//   dw:      blocks of 32 channels x 8 row lanes reduce one tap over a chunk of output positions,
//            chunks meeting through atomicAdd when there are several.
// Any stride and asymmetric ("same") padding: out-of-range taps are skipped, as on the CPU.
#include "kernels/cuda_context.h"

#include <algorithm>

#include "kernels/conv.cuh"
#include "kernels/device_math.cuh"

namespace mlcn::kernels {
namespace {

__global__ void depthwise_forward_kernel(float* out, const float* in, const float* w, ConvShape s) {
  const int64_t taps = s.kh * s.kw;
  MLCN_GRID_STRIDE(e, s.B * s.OH * s.OW * s.C) {
    const int64_t c = e % s.C, ox = (e / s.C) % s.OW, oy = (e / (s.C * s.OW)) % s.OH, b = e / (s.C * s.OW * s.OH);
    float acc = 0.f;
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t y = oy * s.stride + i - s.pad_h;
      if (y < 0 || y >= s.H) continue;
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t x = ox * s.stride + j - s.pad_w;
        if (x < 0 || x >= s.W) continue;
        acc += in[((b * s.H + y) * s.W + x) * s.C + c] * w[c * taps + i * s.kw + j];
      }
    }
    out[e] = acc;
  }
}

__global__ void depthwise_din_kernel(float* din, const float* dout, const float* w, ConvShape s) {
  const int64_t taps = s.kh * s.kw;
  MLCN_GRID_STRIDE(e, s.B * s.H * s.W * s.C) {
    const int64_t c = e % s.C, x = (e / s.C) % s.W, y = (e / (s.C * s.W)) % s.H, b = e / (s.C * s.W * s.H);
    float acc = 0.f;
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t ty = y + s.pad_h - i;  // = oy * stride for the output row using tap i
      if (ty < 0 || ty % s.stride != 0 || ty / s.stride >= s.OH) continue;
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t tx = x + s.pad_w - j;
        if (tx < 0 || tx % s.stride != 0 || tx / s.stride >= s.OW) continue;
        acc += dout[((b * s.OH + ty / s.stride) * s.OW + tx / s.stride) * s.C + c] * w[c * taps + i * s.kw + j];
      }
    }
    din[e] += acc;
  }
}

constexpr int kDwRows = 8;

// grid (taps, ceil(C / 32), position chunks); block (32, kDwRows).
__global__ void depthwise_dw_kernel(float* dw, const float* dout, const float* in, ConvShape s, int64_t chunk) {
  __shared__ float part[kDwRows][33];
  const int64_t taps = s.kh * s.kw, tap = blockIdx.x, i = tap / s.kw, j = tap % s.kw;
  const int64_t c = blockIdx.y * int64_t(32) + threadIdx.x;
  const int64_t positions = s.B * s.OH * s.OW;
  const int64_t p0 = blockIdx.z * chunk, p1 = min(p0 + chunk, positions);
  float acc = 0.f;
  if (c < s.C)
    for (int64_t p = p0 + threadIdx.y; p < p1; p += kDwRows) {
      const int64_t ox = p % s.OW, oy = (p / s.OW) % s.OH, b = p / (s.OW * s.OH);
      const int64_t y = oy * s.stride + i - s.pad_h, x = ox * s.stride + j - s.pad_w;
      if (y < 0 || y >= s.H || x < 0 || x >= s.W) continue;
      acc += dout[p * s.C + c] * in[((b * s.H + y) * s.W + x) * s.C + c];
    }
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < s.C) {
    float sum = 0.f;
    for (int k = 0; k < kDwRows; ++k) sum += part[k][threadIdx.x];
    if (gridDim.z == 1) dw[c * taps + tap] += sum;
    else atomicAdd(dw + c * taps + tap, sum);
  }
}

}  // namespace

void depthwise_forward_cuda(float* out, const float* in, const float* w, const ConvShape& s, cudaStream_t st) {
  const int64_t n = s.B * s.OH * s.OW * s.C;
  if (n <= 0) return;
  depthwise_forward_kernel<<<grid_for(n), kThreads, 0, st>>>(out, in, w, s);
  MLCN_CUDA_LAUNCH_CHECK();
}

void depthwise_backward_cuda(float* din, float* dw, const float* dout, const float* in, const float* w,
                             const ConvShape& s, cudaStream_t st) {
  const int64_t positions = s.B * s.OH * s.OW;
  if (positions <= 0 || s.C <= 0) return;
  if (din) {
    depthwise_din_kernel<<<grid_for(s.B * s.H * s.W * s.C), kThreads, 0, st>>>(din, dout, w, s);
    MLCN_CUDA_LAUNCH_CHECK();
  }
  if (!dw) return;
  const int64_t taps = s.kh * s.kw, cblocks = (s.C + 31) / 32;
  // About 4 blocks per SM in all, each chunk at least 256 positions.
  const int64_t want = std::max<int64_t>(1, int64_t(sm_count(current_device())) * 4 / std::max<int64_t>(1, taps * cblocks));
  const int64_t chunks = std::min<int64_t>({want, (positions + 255) / 256, 65535});
  const int64_t chunk = (positions + chunks - 1) / chunks;
  MLCN_CHECK(taps < (int64_t(1) << 31) && cblocks < 65536, "depthwise: " << taps << " taps, " << s.C << " channels");
  depthwise_dw_kernel<<<dim3(unsigned(taps), unsigned(cblocks), unsigned((positions + chunk - 1) / chunk)),
                        dim3(32, kDwRows), 0, st>>>(dw, dout, in, s, chunk);
  MLCN_CUDA_LAUNCH_CHECK();
}

}  // namespace mlcn::kernels
