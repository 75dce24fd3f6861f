// The CPU emulator of the CUDA execution model that runs the CUDA backend (kernels/*.cu,
// rewritten by emu_source.py) on CI machines without a GPU (docs/cuda-emulator.md).
// Force-included (-include) before everything else in the emulated sources: CUDA's qualifiers
// become plain C++ (__shared__ becomes static, which is per-block storage because blocks run one
// at a time), threadIdx and friends read the running thread's coordinates, and __syncthreads /
// __shfl_xor_sync are barriers between cooperative fibers (one per CUDA thread of the running
// block, tests/emu/emu_scheduler.cpp).
// Semantics kept: every thread of a block runs (so barriers must be reached by all of them, and
// a barrier that some threads skip or exit before is reported as an error, as is a deadlock),
// shuffles exchange within aligned groups of a 32-lane warp, launch configurations are checked
// (at most 1024 threads, 227 KiB of dynamic shared memory, no empty grid, whole clusters of at
// most 8 blocks). Thread-block clusters run their blocks together, with a cluster barrier and
// distributed shared memory (dynamic shared memory only: a static __shared__ variable would be
// one for the whole cluster here). Not modelled: timing,
// the memory model beyond barriers, warp divergence inside a shuffle mask.
#pragma once
#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __grid_constant__
#include <cuda_runtime.h>
#undef __launch_bounds__
#define __launch_bounds__(...)
#undef __forceinline__
#define __forceinline__ inline

#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mlcn_emu {

struct Ctx {
  dim3 thread, block, bdim, gdim;
};
const Ctx& ctx();  // the running CUDA thread's coordinates
void sync_block();  // __syncthreads()
// Every lane of the running warp publishes x; returns the value of lane (lane ^ mask).
float shuffle_xor(float x, int mask);
void* dynamic_shared_memory();
template <class T> T* dynamic_shared() { return static_cast<T*>(dynamic_shared_memory()); }

struct Config {
  dim3 grid, block;
  size_t smem = 0;
  cudaStream_t stream = nullptr;
  unsigned cluster = 1;  // blocks per thread-block cluster, along x
};
inline Config config(dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = nullptr) {
  return {grid, block, smem, stream, 1};
}
// Runs body once per thread of every block (blocks in order, threads as fibers), or records it
// when c.stream is being captured into a graph. A bad configuration sets the error
// cudaGetLastError returns, as a real launch does, and returns it. `site` names the launch site: a
// site whose kernel never reached a barrier runs its threads as plain calls from then on (never
// for cluster launches). With c.cluster > 1 the grid runs cluster by cluster, each cluster's
// blocks together.
cudaError_t launch_body(const Config& c, const void* site, std::function<void()> body);
// What a rewritten launch calls: the arguments are evaluated (and copied) at the call, as CUDA
// does; kernel is a generic lambda that calls the kernel with them.
template <class K, class... A> void launch(const Config& c, K kernel, A... args) {
  static const char site = 0;
  launch_body(c, &site, [=] { kernel(args...); });
}
// What a rewritten cudaLaunchKernelEx calls: the configuration with its cluster dimension (the
// one launch attribute emulated; clusters along x only), the arguments converted to the kernel's
// parameter types at the call.
// (Defined before threadIdx, blockDim and friends become macros below.)
inline bool config_of(const cudaLaunchConfig_t* cfg, Config& c) {
  c = Config{cfg->gridDim, cfg->blockDim, cfg->dynamicSmemBytes, cfg->stream, 1};
  for (unsigned k = 0; k < cfg->numAttrs; ++k) {
    const cudaLaunchAttribute& a = cfg->attrs[k];
    if (a.id != cudaLaunchAttributeClusterDimension || a.val.clusterDim.y != 1 || a.val.clusterDim.z != 1) return false;
    c.cluster = a.val.clusterDim.x;
  }
  return true;
}
template <class... P, class... A> cudaError_t launch_ex(const cudaLaunchConfig_t* cfg, void (*kernel)(P...), A&&... args) {
  static const char site = 0;
  Config c;
  if (!config_of(cfg, c)) return cudaErrorNotSupported;
  return launch_body(c, &site, [kernel, tup = std::tuple<P...>(std::forward<A>(args)...)] { std::apply(kernel, tup); });
}

// Thread-block clusters (sm_90): this block's rank in its cluster, the cluster's size, the
// cluster barrier, and the address of the same dynamic shared memory offset in block `rank`.
unsigned cluster_rank();
unsigned cluster_size();
void sync_cluster();
void* map_shared_rank(const void* p, unsigned rank);

}  // namespace mlcn_emu

#define threadIdx (::mlcn_emu::ctx().thread)
#define blockIdx (::mlcn_emu::ctx().block)
#define blockDim (::mlcn_emu::ctx().bdim)
#define gridDim (::mlcn_emu::ctx().gdim)
inline void __syncthreads() { ::mlcn_emu::sync_block(); }
inline float __shfl_xor_sync(unsigned, float x, int mask, int = 32) { return ::mlcn_emu::shuffle_xor(x, mask); }
// The sm_90 cluster intrinsics (crt/sm_90_rt.h) the project uses. Arrive and wait form one
// barrier here: the wait is where the emulated thread blocks.
inline unsigned __clusterRelativeBlockRank() { return ::mlcn_emu::cluster_rank(); }
inline unsigned __clusterSizeInBlocks() { return ::mlcn_emu::cluster_size(); }
inline void __cluster_barrier_arrive() {}
inline void __cluster_barrier_wait() { ::mlcn_emu::sync_cluster(); }
inline void* __cluster_map_shared_rank(const void* p, unsigned rank) { return ::mlcn_emu::map_shared_rank(p, rank); }
// CUDA's integer and float min/max overloads.
template <class A, class B> inline std::common_type_t<A, B> min(A a, B b) { return b < a ? b : a; }
template <class A, class B> inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }
// Fibers switch only at barriers, so a read-modify-write is atomic here.
inline float atomicAdd(float* p, float v) {
  const float old = *p;
  *p = old + v;
  return old;
}
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p;
  *p = old + v;
  return old;
}
