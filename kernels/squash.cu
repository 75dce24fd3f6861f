// Squash forward and backward over rows of D. G lanes (the power of two >= D, at most 32) share
// a row: lane l reads elements l, l+G, ..., so a warp reads whole rows contiguously, and the
// norm is a shuffle reduction inside the group. The sum order differs from the CPU's sequential
// loop, so results agree to float rounding, not bit for bit.
#include "kernels/cuda_context.h"

#include "kernels/device_math.cuh"
#include "kernels/squash.cuh"

namespace mlcn::kernels {
namespace {

// Warp w handles rows w*(32/G) ... in a grid-stride loop. The trip count is the same for every
// lane of a warp, so all of them reach the shuffles; lanes past the last row add zeros.
template <int G> __global__ void squash_forward_kernel(float* v, const float* s, int64_t rows, int D) {
  const int lane = threadIdx.x % 32, l = lane % G;
  const int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  const int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
  for (int64_t base = warp * (32 / G); base < rows; base += warps * (32 / G)) {
    const int64_t row = base + lane / G;
    const bool valid = row < rows;
    const float* sr = s + row * D;
    float n2 = 0.f;
    if (valid)
      for (int d = l; d < D; d += G) n2 += sr[d] * sr[d];
    n2 = group_sum<G>(n2);
    float f, fp;
    squash_factor(n2, f, fp);
    if (valid)
      for (int d = l; d < D; d += G) v[row * D + d] = f * sr[d];
  }
}

template <int G>
__global__ void squash_backward_kernel(float* ds, const float* dv, const float* s, int64_t rows, int D) {
  const int lane = threadIdx.x % 32, l = lane % G;
  const int64_t warp = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32;
  const int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
  for (int64_t base = warp * (32 / G); base < rows; base += warps * (32 / G)) {
    const int64_t row = base + lane / G;
    const bool valid = row < rows;
    const float* sr = s + row * D;
    const float* dvr = dv + row * D;
    float n2 = 0.f, sdv = 0.f;
    if (valid)
      for (int d = l; d < D; d += G) n2 += sr[d] * sr[d], sdv += sr[d] * dvr[d];
    n2 = group_sum<G>(n2);
    sdv = group_sum<G>(sdv);
    float f, fp;
    squash_factor(n2, f, fp);
    if (valid)
      for (int d = l; d < D; d += G) ds[row * D + d] += f * dvr[d] + 2.f * fp * sdv * sr[d];
  }
}

template <template <int> class Launch, class... Args> void dispatch_lanes(int G, Args... args) {
  switch (G) {
    case 1: Launch<1>::run(args...); break;
    case 2: Launch<2>::run(args...); break;
    case 4: Launch<4>::run(args...); break;
    case 8: Launch<8>::run(args...); break;
    case 16: Launch<16>::run(args...); break;
    default: Launch<32>::run(args...); break;
  }
}

unsigned row_blocks(int64_t rows, int G) {
  const int64_t rows_per_block = int64_t(kThreads / 32) * (32 / G);
  return grid_for((rows + rows_per_block - 1) / rows_per_block * kThreads);
}

template <int G> struct SquashFwd {
  static void run(float* v, const float* s, int64_t rows, int D, cudaStream_t st) {
    squash_forward_kernel<G><<<row_blocks(rows, G), kThreads, 0, st>>>(v, s, rows, D);
  }
};
template <int G> struct SquashBwd {
  static void run(float* ds, const float* dv, const float* s, int64_t rows, int D, cudaStream_t st) {
    squash_backward_kernel<G><<<row_blocks(rows, G), kThreads, 0, st>>>(ds, dv, s, rows, D);
  }
};

}  // namespace

void squash_forward_cuda(float* v, const float* s, int64_t rows, int64_t D, cudaStream_t st) {
  if (rows <= 0 || D <= 0) return;
  MLCN_CHECK(D < (int64_t(1) << 31), "squash: D = " << D);
  dispatch_lanes<SquashFwd>(lanes_for(D), v, s, rows, int(D), st);
  MLCN_CUDA_LAUNCH_CHECK();
}

void squash_backward_cuda(float* ds, const float* dv, const float* s, int64_t rows, int64_t D, cudaStream_t st) {
  if (rows <= 0 || D <= 0) return;
  MLCN_CHECK(D < (int64_t(1) << 31), "squash: D = " << D);
  dispatch_lanes<SquashBwd>(lanes_for(D), ds, dv, s, rows, int(D), st);
  MLCN_CUDA_LAUNCH_CHECK();
}

}  // namespace mlcn::kernels
