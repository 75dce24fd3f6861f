// Non-finite count over many float32 arrays of one device, for the training loop's NaN/Inf
// guard. The array table travels in the kernel parameters (as the multi-tensor Adam's slice
// table does); each block counts kItems elements of one array (NaN and +-Inf: |x| <= FLT_MAX
// fails), sums its threads' counts in shared memory and adds the block's count to one device
// counter with one atomic. The count is exact (an integer sum), so the order does not matter.
#include "kernels/cuda_context.h"

#include <algorithm>

#include "kernels/allocator.h"
#include "kernels/device_math.cuh"
#include "kernels/finite.cuh"

namespace mlcn::kernels {
namespace {

constexpr int kMaxArrays = 64;
constexpr int kItems = 4 * kThreads;  // elements per block

struct ArrayTable {
  const float* p[kMaxArrays];
  int64_t n[kMaxArrays];
  int first_block[kMaxArrays + 1];  // array k owns blocks [first_block[k], first_block[k+1])
  int count;
};

__global__ void count_non_finite_kernel(const __grid_constant__ ArrayTable t, unsigned long long* total) {
  __shared__ unsigned int part[kThreads];
  int lo = 0, hi = t.count - 1;  // the last array whose first block is <= blockIdx.x
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (t.first_block[mid] <= int(blockIdx.x)) lo = mid;
    else hi = mid - 1;
  }
  const float* p = t.p[lo];
  const int64_t n = t.n[lo], base = int64_t(int(blockIdx.x) - t.first_block[lo]) * kItems;
  unsigned int bad = 0;
  for (int64_t i = base + threadIdx.x; i < n && i < base + kItems; i += blockDim.x)
    bad += fabsf(p[i]) <= 3.40282347e38f ? 0u : 1u;
  part[threadIdx.x] = bad;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half >>= 1) {
    if (int(threadIdx.x) < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0 && part[0] > 0) atomicAdd(total, (unsigned long long)part[0]);
}

}  // namespace

int64_t count_non_finite_cuda(const float* const* arrays, const int64_t* sizes, int count, cudaStream_t s) {
  DeviceBuffer total(sizeof(unsigned long long), s);
  MLCN_CUDA_CHECK(cudaMemsetAsync(total.get(), 0, sizeof(unsigned long long), s));
  for (int start = 0; start < count; start += kMaxArrays) {
    ArrayTable t{};
    int64_t blocks = 0;
    for (int k = start; k < std::min(count, start + kMaxArrays); ++k) {
      if (sizes[k] <= 0) continue;
      t.p[t.count] = arrays[k];
      t.n[t.count] = sizes[k];
      t.first_block[t.count] = int(blocks);
      blocks += (sizes[k] + kItems - 1) / kItems;
      MLCN_CHECK(blocks < (int64_t(1) << 31), "count_non_finite: too many elements in one launch");
      ++t.count;
    }
    if (t.count == 0) continue;
    t.first_block[t.count] = int(blocks);
    count_non_finite_kernel<<<unsigned(blocks), kThreads, 0, s>>>(t, total.as<unsigned long long>());
    MLCN_CUDA_LAUNCH_CHECK();
  }
  unsigned long long host = 0;
  MLCN_CUDA_CHECK(cudaMemcpyAsync(&host, total.get(), sizeof(host), cudaMemcpyDeviceToHost, s));
  MLCN_CUDA_CHECK(cudaStreamSynchronize(s));
  return int64_t(host);
}

}  // namespace mlcn::kernels
