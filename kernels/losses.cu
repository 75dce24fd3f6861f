// Margin and reconstruction (MSE) losses. A forward is a deterministic two-pass sum: each block
// reduces its grid-stride share in shared memory, then one block adds the block sums in order,
// divides, and writes the value to device memory (no read-back: the head can be captured in a
// CUDA graph). A backward reads the loss's gradient g from device memory too. The CPU sums sequentially (margin) or in OpenMP chunks (MSE), so the values agree to
// float rounding of an n-term sum. The margin terms use pos(x), the CPU twin's max(0, x) that
// keeps NaN (fmaxf(0, NaN) is 0 and would hide a diverged model).
#include "kernels/cuda_context.h"

#include <algorithm>

#include "base/capsule_constants.h"  // defines: kMarginPlus, kMarginMinus, kMarginLambda
#include "kernels/allocator.h"
#include "kernels/device_math.cuh"
#include "kernels/losses.cuh"

namespace mlcn::kernels {
namespace {

constexpr int kSumThreads = 256;  // a power of two (tree reduction)
constexpr int kMaxSumBlocks = 1024;

__device__ __forceinline__ float block_sum(float x, float* part) {
  part[threadIdx.x] = x;
  __syncthreads();
  for (int half = kSumThreads / 2; half > 0; half >>= 1) {
    if (int(threadIdx.x) < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  return part[0];
}

// max(0, x) that keeps NaN, as engine/cpu/loss.cpp.
__device__ __forceinline__ float pos(float x) { return x > 0.f || x != x ? x : 0.f; }

struct MarginTerm {
  const float* y;
  const int32_t* labels;
  int64_t J;
  __device__ float operator()(int64_t e) const {
    const float yj = y[e];
    if (e % J == labels[e / J]) {
      const float m = pos(float(kMarginPlus) - yj);
      return m * m;
    }
    const float m = pos(yj - float(kMarginMinus));
    return float(kMarginLambda) * m * m;
  }
};

struct SquaredError {
  const float* a;
  const float* t;
  __device__ float operator()(int64_t e) const { return (a[e] - t[e]) * (a[e] - t[e]); }
};

template <class Term> __global__ void partial_sum_kernel(float* partial, int64_t n, Term term) {
  __shared__ float part[kSumThreads];
  float acc = 0.f;
  MLCN_GRID_STRIDE(e, n) acc += term(e);
  const float sum = block_sum(acc, part);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// out = (sum of partial[0..count)) / divisor, summed in a fixed order by one block.
__global__ void finish_sum_kernel(float* out, const float* partial, int count, float divisor) {
  __shared__ float part[kSumThreads];
  float acc = 0.f;
  for (int k = threadIdx.x; k < count; k += kSumThreads) acc += partial[k];
  const float sum = block_sum(acc, part);
  if (threadIdx.x == 0) *out = sum / divisor;
}

// *out (device) = mean of term(e) over e < n, with `divisor` as the count.
template <class Term> void mean_of(float* out, Term term, int64_t n, float divisor, cudaStream_t s) {
  const int blocks = int(std::min<int64_t>(kMaxSumBlocks, (n + kSumThreads - 1) / kSumThreads));
  DeviceBuffer partial(size_t(blocks) * sizeof(float), s);
  partial_sum_kernel<<<unsigned(blocks), kSumThreads, 0, s>>>(partial.as<float>(), n, term);
  MLCN_CUDA_LAUNCH_CHECK();
  finish_sum_kernel<<<1, kSumThreads, 0, s>>>(out, partial.as<float>(), blocks, divisor);
  MLCN_CUDA_LAUNCH_CHECK();
}

// dy (B, J) += (*g / B) dmargin/dy; g: device (1).
__global__ void margin_backward_kernel(float* dy, const float* g, float B, const float* y, const int32_t* labels,
                                       int64_t n, int64_t J) {
  const float scale = *g / B;
  MLCN_GRID_STRIDE(e, n) {
    const float yj = y[e];
    if (e % J == labels[e / J]) dy[e] += scale * -2.f * pos(float(kMarginPlus) - yj);
    else dy[e] += scale * float(2 * kMarginLambda) * pos(yj - float(kMarginMinus));
  }
}

// da (n) += (2 *g / n) (a - t); g: device (1).
__global__ void mse_backward_kernel(float* da, const float* g, const float* a, const float* t, int64_t n) {
  const float scale = 2.f * *g / float(n);
  MLCN_GRID_STRIDE(e, n) da[e] += scale * (a[e] - t[e]);
}

}  // namespace

void margin_forward_cuda(float* loss, const float* y, const int32_t* labels, int64_t B, int64_t J, cudaStream_t s) {
  MLCN_CHECK(B > 0 && J > 0, "margin loss: empty batch (" << B << ", " << J << ")");
  mean_of(loss, MarginTerm{y, labels, J}, B * J, float(B), s);
}

void margin_backward_cuda(float* dy, const float* g, const float* y, const int32_t* labels, int64_t B, int64_t J,
                          cudaStream_t s) {
  if (B <= 0 || J <= 0) return;
  margin_backward_kernel<<<grid_for(B * J), kThreads, 0, s>>>(dy, g, float(B), y, labels, B * J, J);
  MLCN_CUDA_LAUNCH_CHECK();
}

void mse_forward_cuda(float* loss, const float* a, const float* target, int64_t n, cudaStream_t s) {
  MLCN_CHECK(n > 0, "mse loss: empty input");
  mean_of(loss, SquaredError{a, target}, n, float(n), s);
}

void mse_backward_cuda(float* da, const float* g, const float* a, const float* target, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  mse_backward_kernel<<<grid_for(n), kThreads, 0, s>>>(da, g, a, target, n);
  MLCN_CUDA_LAUNCH_CHECK();
}

}  // namespace mlcn::kernels
