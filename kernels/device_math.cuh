// Device-side helpers shared by the kernel files (include from .cu files only): a grid-stride
// loop, the squash factor written exactly as engine/cpu/capsule.cpp writes it, and shuffle
// reductions over aligned groups of lanes inside a warp.
#pragma once
#include <cuda_runtime.h>

#include "base/capsule_constants.h"  // defines: kSquashEps, kLengthEps

// for (int64_t i = global thread index; i < n; i += total threads)
#define MLCN_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

namespace mlcn::kernels {

// squash(s) = f(n2) s with f(n2) = n2 / ((1 + n2) sqrt(n2 + eps)); fp = f'(n2). Safe at n2 = 0.
__device__ __forceinline__ void squash_factor(float n2, float& f, float& fp) {
  const float eps = float(kSquashEps);
  float g = 1.f / ((1.f + n2) * sqrtf(n2 + eps));
  f = n2 * g;
  fp = g * (1.f - n2 / (1.f + n2) - n2 / (2.f * (n2 + eps)));
}

// Sum over each aligned group of G lanes (G a power of two <= 32); every lane of the warp must
// call it, and every lane gets its group's sum.
template <int G> __device__ __forceinline__ float group_sum(float x) {
#pragma unroll
  for (int off = G / 2; off > 0; off >>= 1) x += __shfl_xor_sync(0xffffffffu, x, off);
  return x;
}

// The smallest power of two >= d, capped at 32: lanes per row for row-wise kernels.
inline int lanes_for(long long d) {
  int g = 1;
  while (g < d && g < 32) g <<= 1;
  return g;
}

}  // namespace mlcn::kernels
