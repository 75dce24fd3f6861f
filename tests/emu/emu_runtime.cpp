// The emulator's machinery (tests/emu/emu.h): the fiber scheduler that runs a launch block by
// block with one ucontext fiber per CUDA thread, the subset of the CUDA runtime API the kernels,
// the caching allocator and the parity tests call (memory is host memory, every "asynchronous"
// operation completes before it returns, so any stream order holds), and the per-thread context
// of kernels/cuda_context.h. One emulated device: "cuda:0", 2 SMs (so grid-stride loops take
// several turns), H100 shared-memory limits. Between barriers the threads of a block run one
// after the other, in index order, or in reverse order when MLCN_EMU_REVERSE is set: a missing
// barrier (a race) shows up as a wrong result in at least one of the two orders.
#include <ucontext.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/core/check.h"
#include "engine/core/tensor.h"
#include "kernels/allocator.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_context.h"
#include "tests/emu/emu.h"

namespace mlcn_emu {
namespace {

constexpr int kSms = 2;
constexpr size_t kMaxShared = 232448;  // H100: cudaDevAttrMaxSharedMemoryPerBlockOptin
constexpr size_t kStack = 64 << 10;    // per fiber
constexpr int kWarp = 32;

thread_local cudaError_t t_last_error = cudaSuccess;

struct Fiber {
  ucontext_t uc;
  Ctx ctx;
  bool done = false;
};

// The block being run. Barriers count arrivals per generation; a waiting fiber yields to the
// scheduler until its barrier's generation moves on.
struct Block {
  std::vector<Fiber> fibers;
  ucontext_t sched;
  int current = -1, live = 0;
  int arrived = 0;
  uint64_t gen = 0;
  std::vector<int> warp_arrived, warp_live;
  std::vector<uint64_t> warp_gen;
  std::vector<float> slots;  // (warps, 32) shuffle exchange
  std::vector<unsigned char> shared;
  const std::function<void()>* body = nullptr;
  uint64_t events = 0;  // arrivals, releases and exits: progress for the deadlock check
  std::string error;
};

Block* g_block = nullptr;
std::mutex g_launch_mu;
std::vector<char> g_stacks;

void yield() { swapcontext(&g_block->fibers[size_t(g_block->current)].uc, &g_block->sched); }

void fiber_main() {
  Block& b = *g_block;
  Fiber& f = b.fibers[size_t(b.current)];
  try {
    (*b.body)();
  } catch (const std::exception& e) {
    if (b.error.empty()) b.error = std::string("exception in a thread: ") + e.what();
  }
  f.done = true;
  --b.live;
  ++b.events;
  const int warp = b.current / kWarp;
  --b.warp_live[size_t(warp)];
  // A thread that leaves while others wait at a barrier: the barrier is divergent (undefined
  // behaviour in CUDA); reported, and the waiters are released so the launch can finish.
  if (b.arrived > 0 && b.error.empty()) b.error = "a thread exited while others waited at __syncthreads";
  if (b.warp_arrived[size_t(warp)] > 0 && b.error.empty())
    b.error = "a thread exited while its warp waited in a shuffle";
  if (b.arrived > 0 && b.arrived >= b.live) b.arrived = 0, ++b.gen;
  if (b.warp_arrived[size_t(warp)] > 0 && b.warp_arrived[size_t(warp)] >= b.warp_live[size_t(warp)])
    b.warp_arrived[size_t(warp)] = 0, ++b.warp_gen[size_t(warp)];
}

void run_block(Block& b, const Config& c, dim3 bidx) {
  const int n = int(c.block.x * c.block.y * c.block.z);
  b.fibers.assign(size_t(n), Fiber{});
  b.live = n;
  b.arrived = 0;
  const int warps = (n + kWarp - 1) / kWarp;
  b.warp_arrived.assign(size_t(warps), 0);
  b.warp_gen.assign(size_t(warps), 0);
  b.warp_live.assign(size_t(warps), 0);
  for (int t = 0; t < n; ++t) ++b.warp_live[size_t(t / kWarp)];
  b.slots.assign(size_t(warps * kWarp), 0.f);
  // Shared memory starts as NaN, so a kernel reading what it never wrote fails its test.
  const uint32_t poison = 0x7fc0dead;
  for (size_t i = 0; i + 4 <= b.shared.size(); i += 4) std::memcpy(&b.shared[i], &poison, 4);
  if (g_stacks.size() < size_t(n) * kStack) g_stacks.resize(size_t(n) * kStack);
  for (int t = 0; t < n; ++t) {
    Fiber& f = b.fibers[size_t(t)];
    f.ctx.thread = dim3(unsigned(t) % c.block.x, (unsigned(t) / c.block.x) % c.block.y,
                        unsigned(t) / (c.block.x * c.block.y));
    f.ctx.block = bidx;
    f.ctx.bdim = c.block;
    f.ctx.gdim = c.grid;
    getcontext(&f.uc);
    f.uc.uc_stack.ss_sp = &g_stacks[size_t(t) * kStack];
    f.uc.uc_stack.ss_size = kStack;
    f.uc.uc_link = &b.sched;
    makecontext(&f.uc, fiber_main, 0);
  }
  static const bool reverse = std::getenv("MLCN_EMU_REVERSE") != nullptr;
  while (b.live > 0) {
    const uint64_t before = b.events;
    for (int k = 0; k < n; ++k) {
      const int t = reverse ? n - 1 - k : k;
      if (b.fibers[size_t(t)].done) continue;
      b.current = t;
      swapcontext(&b.sched, &b.fibers[size_t(t)].uc);
    }
    if (b.events == before && b.live > 0) {  // nobody moved: threads wait at different barriers
      b.error = "deadlock: the block's threads wait at barriers that cannot complete";
      return;  // the fibers are abandoned; their stacks are reused by the next launch
    }
  }
}

// Waits until `gen` moves past its value at arrival; `count` arrivals out of `live` release it.
void barrier(int& arrived, uint64_t& gen, int live) {
  Block& b = *g_block;
  const uint64_t mine = gen;
  ++b.events;
  if (++arrived >= live) {
    arrived = 0;
    ++gen;
    return;
  }
  while (gen == mine) yield();
}

}  // namespace

const Ctx& ctx() { return g_block->fibers[size_t(g_block->current)].ctx; }

void sync_block() { barrier(g_block->arrived, g_block->gen, g_block->live); }

float shuffle_xor(float x, int mask) {
  Block& b = *g_block;
  const int t = b.current, warp = t / kWarp, lane = t % kWarp;
  b.slots[size_t(t)] = x;
  barrier(b.warp_arrived[size_t(warp)], b.warp_gen[size_t(warp)], b.warp_live[size_t(warp)]);
  const int src = warp * kWarp + (lane ^ mask);
  const float y = src < int(b.fibers.size()) ? b.slots[size_t(src)] : x;
  barrier(b.warp_arrived[size_t(warp)], b.warp_gen[size_t(warp)], b.warp_live[size_t(warp)]);
  return y;
}

void* dynamic_shared_memory() { return g_block->shared.data(); }

void launch(const Config& c, const std::function<void()>& body) {
  const uint64_t threads = uint64_t(c.block.x) * c.block.y * c.block.z;
  if (c.grid.x == 0 || c.grid.y == 0 || c.grid.z == 0 || threads == 0 || threads > 1024 || c.grid.y > 65535 ||
      c.grid.z > 65535) {
    t_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  if (c.smem > kMaxShared) {
    t_last_error = cudaErrorInvalidValue;
    return;
  }
  std::lock_guard<std::mutex> lock(g_launch_mu);
  Block b;
  b.body = &body;
  b.shared.assign(c.smem, 0);
  Block* outer = g_block;
  g_block = &b;
  for (unsigned z = 0; z < c.grid.z && b.error.empty(); ++z)
    for (unsigned y = 0; y < c.grid.y && b.error.empty(); ++y)
      for (unsigned x = 0; x < c.grid.x && b.error.empty(); ++x) run_block(b, c, dim3(x, y, z));
  g_block = outer;
  if (!b.error.empty()) throw std::runtime_error("CUDA emulator: " + b.error);
}

}  // namespace mlcn_emu

// ---- The CUDA runtime API subset (host memory; every call completes before it returns). ----
namespace {
std::mutex g_mem_mu;
std::set<void*> g_device, g_pinned;
}  // namespace

extern "C" {

cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  if (!*p) return mlcn_emu::t_last_error = cudaErrorMemoryAllocation;
  std::lock_guard<std::mutex> lock(g_mem_mu);
  g_device.insert(*p);
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  std::lock_guard<std::mutex> lock(g_mem_mu);
  if (p && !g_device.erase(p)) return cudaErrorInvalidValue;
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** p, size_t bytes) {
  *p = std::malloc(bytes ? bytes : 1);
  std::lock_guard<std::mutex> lock(g_mem_mu);
  g_pinned.insert(*p);
  return cudaSuccess;
}
cudaError_t cudaFreeHost(void* p) {
  std::lock_guard<std::mutex> lock(g_mem_mu);
  g_pinned.erase(p);
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind) {
  if (n) std::memmove(dst, src, n);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t) {
  if (n) std::memmove(dst, src, n);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* p, int v, size_t n) {
  std::memset(p, v, n);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) {
  std::memset(p, v, n);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = reinterpret_cast<cudaStream_t>(new char);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete reinterpret_cast<char*>(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaStreamIsCapturing(cudaStream_t, cudaStreamCaptureStatus* s) {
  *s = cudaStreamCaptureStatusNone;
  return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
  const cudaError_t e = mlcn_emu::t_last_error;
  mlcn_emu::t_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return mlcn_emu::t_last_error; }
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    default: return "emulated CUDA error";
  }
}
cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidDevice; }
cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  switch (a) {
    case cudaDevAttrMultiProcessorCount: *v = mlcn_emu::kSms; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = int(mlcn_emu::kMaxShared); break;
    case cudaDevAttrComputeCapabilityMajor: *v = 9; break;
    default: *v = 0;
  }
  return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void*, cudaFuncAttribute, int v) {
  return v >= 0 && size_t(v) <= mlcn_emu::kMaxShared ? cudaSuccess : cudaErrorInvalidValue;
}
cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  *free = size_t(80) << 30;
  *total = size_t(80) << 30;
  return cudaSuccess;
}
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
  std::lock_guard<std::mutex> lock(g_mem_mu);
  std::memset(a, 0, sizeof(*a));
  a->type = g_pinned.count(const_cast<void*>(p)) ? cudaMemoryTypeHost
            : g_device.count(const_cast<void*>(p)) ? cudaMemoryTypeDevice
                                                    : cudaMemoryTypeUnregistered;
  return cudaSuccess;
}

}  // extern "C"

// ---- kernels/cuda_context.h and kernels/cuda_backend.h for the one emulated device. ----
namespace mlcn {
namespace {
thread_local cudaStream_t t_stream = nullptr;
bool g_tf32 = false;
cuda::RoutingVariant g_variant = cuda::RoutingVariant::Auto;
}  // namespace

bool cuda_available() { return true; }
// Tensors on cuda:0 live in the emulated device memory, through the caching allocator.
void cuda_backend_init() {
  DeviceMemoryOps ops;
  ops.alloc = [](size_t bytes, int index) { return cuda::device_allocate(bytes, index, t_stream); };
  ops.release = [](void* p, size_t, int) { cuda::device_release(p); };
  ops.copy = [](void* dst, Device, const void* src, Device, size_t bytes) { std::memmove(dst, src, bytes); };
  ops.memset0 = [](void* p, size_t bytes, int) { std::memset(p, 0, bytes); };
  register_cuda_memory_ops(ops);
}
CudaMemoryInfo cuda_memory_info(int device) {
  const cuda::AllocatorStats s = cuda::allocator_stats(device);
  CudaMemoryInfo m;
  m.in_use = s.in_use, m.peak = s.peak, m.reserved = s.reserved, m.mallocs = s.mallocs;
  (void)cudaMemGetInfo(&m.free, &m.total);
  return m;
}
void cuda_reset_peak(int device) { cuda::allocator_reset_peak(device); }
void cuda_empty_cache(int device) { cuda::allocator_empty_cache(device); }
int cuda_device_count() { return 1; }
std::string cuda_device_name(int) { return "CUDA emulator on the CPU (tests/emu)"; }

namespace cuda {
void set_current_stream(int, cudaStream_t s) { t_stream = s; }
int current_device() { return 0; }
cudaStream_t current_stream() { return t_stream; }
cudaStream_t stream_for(int) { return t_stream; }
// The emulated cuBLAS (emu_cublas.cpp) keeps no state: any non-null handle does.
cublasHandle_t cublas_handle(cudaStream_t) { return reinterpret_cast<cublasHandle_t>(&g_tf32); }
cudnnHandle_t cudnn_handle(cudaStream_t) { MLCN_FAIL("cuDNN is not emulated"); }
int sm_count(int) { return mlcn_emu::kSms; }
size_t max_shared_per_block(int) { return mlcn_emu::kMaxShared; }
DeviceGuard::DeviceGuard(int) {}
DeviceGuard::~DeviceGuard() {}
void set_allow_tf32(bool allow) { g_tf32 = allow; }
bool allow_tf32() { return g_tf32; }
void set_routing_variant(RoutingVariant v) { g_variant = v; }
RoutingVariant routing_variant() { return g_variant; }
}  // namespace cuda
}  // namespace mlcn
