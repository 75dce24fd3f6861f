// Fused Adam update: m, v and p in one pass over each parameter, in float with the constants
// rounded to float exactly as engine/cpu/adam.cpp does. adam_update_many_cuda updates up to
// kMaxSlices tensors per launch: the slice table travels in the kernel parameters (no copy), and
// each block finds its tensor from the table's running block counts. The multi-tensor kernel
// reads the step size and the weight-decay factor from device memory and zeroes each gradient it consumed, so one lane's
// whole optimizer step is one launch that a CUDA graph can replay. Where a tensor's four arrays
// are 16-byte aligned (the allocator's tensors are), each thread moves 4 consecutive elements with
// float4 loads and stores: the update is bandwidth-bound (5 arrays read or written per element).
#include "kernels/cuda_context.h"

#include <algorithm>
#include <cstdint>

#include "kernels/adam.cuh"
#include "kernels/device_math.cuh"

namespace mlcn::kernels {
namespace {

struct AdamConsts {
  float b1, b2, lr, eps, keep;  // keep = 1 - lr wd (decoupled weight decay; 1: none)
};

__device__ __forceinline__ void adam_one(float* p, float gi, float* m, float* v, int64_t i, AdamConsts k) {
  const float mi = k.b1 * m[i] + (1.f - k.b1) * gi;
  const float vi = k.b2 * v[i] + (1.f - k.b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = k.keep * p[i] - k.lr * mi / (sqrtf(vi) + k.eps);
}

// The same update on 4 elements held in registers.
__device__ __forceinline__ void adam_four(float4& p, const float4& g, float4& m, float4& v, AdamConsts k) {
  float* pp = &p.x;
  const float* gg = &g.x;
  float* mm = &m.x;
  float* vv = &v.x;
  for (int j = 0; j < 4; ++j) {
    mm[j] = k.b1 * mm[j] + (1.f - k.b1) * gg[j];
    vv[j] = k.b2 * vv[j] + (1.f - k.b2) * gg[j] * gg[j];
    pp[j] = k.keep * pp[j] - k.lr * mm[j] / (sqrtf(vv[j]) + k.eps);
  }
}

__global__ void adam_update_kernel(float* p, const float* g, float* m, float* v, int64_t n, AdamConsts k) {
  MLCN_GRID_STRIDE(i, n) adam_one(p, g[i], m, v, i, k);
}

constexpr int kMaxSlices = 64;
constexpr int kAdamItems = 4 * kThreads;  // elements per block in the multi-tensor kernel

struct SliceTable {
  AdamSlice slice[kMaxSlices];
  int first_block[kMaxSlices + 1];  // slice k owns blocks [first_block[k], first_block[k+1])
  int count;
};

// k.lr and k.keep are ignored: they are rate[0] and rate[1].
__global__ void adam_update_many_kernel(const __grid_constant__ SliceTable t, AdamConsts k, const float* rate) {
  k.lr = rate[0];
  k.keep = rate[1];
  int lo = 0, hi = t.count - 1;  // the last slice whose first block is <= blockIdx.x
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (t.first_block[mid] <= int(blockIdx.x)) lo = mid;
    else hi = mid - 1;
  }
  const AdamSlice& s = t.slice[lo];
  const int64_t base = int64_t(int(blockIdx.x) - t.first_block[lo]) * kAdamItems;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(s.p) | reinterpret_cast<uintptr_t>(s.g) |
                         reinterpret_cast<uintptr_t>(s.m) | reinterpret_cast<uintptr_t>(s.v);
  const int64_t first = base + 4 * int64_t(threadIdx.x);  // this thread's 4 elements on the vector path
  if (addr % 16 == 0 && first + 3 < s.n) {
    float4 p4 = *reinterpret_cast<const float4*>(s.p + first), m4 = *reinterpret_cast<const float4*>(s.m + first);
    float4 v4 = *reinterpret_cast<const float4*>(s.v + first);
    const float4 g4 = *reinterpret_cast<const float4*>(s.g + first);
    adam_four(p4, g4, m4, v4, k);
    *reinterpret_cast<float4*>(s.p + first) = p4;
    *reinterpret_cast<float4*>(s.m + first) = m4;
    *reinterpret_cast<float4*>(s.v + first) = v4;
    *reinterpret_cast<float4*>(s.g + first) = float4{0.f, 0.f, 0.f, 0.f};
  } else if (addr % 16 == 0) {  // the tensor's last, partial group of 4
    for (int64_t i = first; i < s.n && i < first + 4; ++i) {
      adam_one(s.p, s.g[i], s.m, s.v, i, k);
      s.g[i] = 0.f;
    }
  } else {  // misaligned: one element per thread per turn, consecutive threads on consecutive elements
    for (int64_t i = base + threadIdx.x; i < s.n && i < base + kAdamItems; i += blockDim.x) {
      adam_one(s.p, s.g[i], s.m, s.v, i, k);
      s.g[i] = 0.f;
    }
  }
}

AdamConsts consts(double lr_t, double b1, double b2, double eps, double keep) {
  return {float(b1), float(b2), float(lr_t), float(eps), float(keep)};
}

}  // namespace

void adam_update_cuda(float* p, const float* g, float* m, float* v, int64_t n, double lr_t, double b1, double b2,
                      double eps, double keep, cudaStream_t s) {
  if (n <= 0) return;
  adam_update_kernel<<<grid_for(n), kThreads, 0, s>>>(p, g, m, v, n, consts(lr_t, b1, b2, eps, keep));
  MLCN_CUDA_LAUNCH_CHECK();
}

void adam_update_many_cuda(const AdamSlice* slices, int count, const float* rate, double b1, double b2, double eps,
                           cudaStream_t s) {
  for (int start = 0; start < count; start += kMaxSlices) {
    SliceTable t{};
    int64_t blocks = 0;
    for (int k = start; k < std::min(count, start + kMaxSlices); ++k) {
      if (slices[k].n <= 0) continue;
      t.slice[t.count] = slices[k];
      t.first_block[t.count] = int(blocks);
      blocks += (slices[k].n + kAdamItems - 1) / kAdamItems;
      MLCN_CHECK(blocks < (int64_t(1) << 31), "adam_update_many: too many elements in one launch");
      ++t.count;
    }
    if (t.count == 0) continue;
    t.first_block[t.count] = int(blocks);
    adam_update_many_kernel<<<unsigned(blocks), kThreads, 0, s>>>(t, consts(0.0, b1, b2, eps, 1.0), rate);
    MLCN_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace mlcn::kernels
