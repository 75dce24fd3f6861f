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
// (at most 1024 threads, 227 KiB of dynamic shared memory, no empty grid). Not modelled: timing,
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
#include <type_traits>

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
};
inline Config config(dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = nullptr) {
  return {grid, block, smem, stream};
}
// Runs body once per thread of every block (blocks in order, threads as fibers), or records it
// when c.stream is being captured into a graph. A bad configuration sets the error
// cudaGetLastError returns, as a real launch does. `site` names the launch site: a site whose
// kernel never reached a barrier runs its threads as plain calls from then on.
void launch_body(const Config& c, const void* site, std::function<void()> body);
// What a rewritten launch calls: the arguments are evaluated (and copied) at the call, as CUDA
// does; kernel is a generic lambda that calls the kernel with them.
template <class K, class... A> void launch(const Config& c, K kernel, A... args) {
  static const char site = 0;
  launch_body(c, &site, [=] { kernel(args...); });
}

}  // namespace mlcn_emu

#define threadIdx (::mlcn_emu::ctx().thread)
#define blockIdx (::mlcn_emu::ctx().block)
#define blockDim (::mlcn_emu::ctx().bdim)
#define gridDim (::mlcn_emu::ctx().gdim)
inline void __syncthreads() { ::mlcn_emu::sync_block(); }
inline float __shfl_xor_sync(unsigned, float x, int mask, int = 32) { return ::mlcn_emu::shuffle_xor(x, mask); }
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
