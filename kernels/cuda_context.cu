// The per-thread CUDA context, the backend switches, and cuda_backend_init(), which registers
// the caching allocator as the engine's device memory hooks (engine/core/tensor.h).
#include "kernels/cuda_context.h"

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"
#include "kernels/allocator.h"
#include "kernels/cuda_backend.h"

namespace mlcn::cuda {
namespace {

thread_local int t_device = -1;  // -1: never set; the runtime's current device applies
thread_local cudaStream_t t_stream = nullptr;

// Handles released by threads that ended, per device, for the next thread to reuse. Handles
// are never destroyed: destroying them during process exit, after the runtime has shut down,
// can crash (PyTorch keeps its cuDNN handles alive for the same reason).
struct HandlePool {
  std::mutex mu;
  std::vector<std::pair<int, cublasHandle_t>> blas;
  std::vector<std::pair<int, cudnnHandle_t>> dnn;
};
HandlePool& handle_pool() {
  static HandlePool* p = new HandlePool();
  return *p;
}

template <class H> H take_pooled(std::vector<std::pair<int, H>>& pool, int device) {
  std::lock_guard<std::mutex> lock(handle_pool().mu);
  for (size_t i = 0; i < pool.size(); ++i)
    if (pool[i].first == device) {
      H h = pool[i].second;
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(i));
      return h;
    }
  return nullptr;
}

// Handles of one thread, one slot per device, with the stream each was last bound to.
struct ThreadHandles {
  std::vector<cublasHandle_t> blas;
  std::vector<cudaStream_t> blas_stream;
  std::vector<cudnnHandle_t> dnn;
  std::vector<cudaStream_t> dnn_stream;
  void grow(int device) {
    size_t n = static_cast<size_t>(device) + 1;
    if (blas.size() < n) blas.resize(n, nullptr), blas_stream.resize(n, nullptr);
    if (dnn.size() < n) dnn.resize(n, nullptr), dnn_stream.resize(n, nullptr);
  }
  // No CUDA calls here: the handles go back to the pool (their stream is re-bound on reuse).
  ~ThreadHandles() {
    HandlePool& pool = handle_pool();
    std::lock_guard<std::mutex> lock(pool.mu);
    for (size_t d = 0; d < blas.size(); ++d)
      if (blas[d]) pool.blas.push_back({static_cast<int>(d), blas[d]});
    for (size_t d = 0; d < dnn.size(); ++d)
      if (dnn[d]) pool.dnn.push_back({static_cast<int>(d), dnn[d]});
  }
};
thread_local ThreadHandles t_handles;

struct DeviceProps {
  int sms = 0;
  size_t smem_optin = 0;
};

const DeviceProps& props(int device) {
  static std::mutex mu;
  static std::vector<DeviceProps> cache;
  std::lock_guard<std::mutex> lock(mu);
  MLCN_CHECK(device >= 0, "bad CUDA device index " << device);
  if (cache.size() <= static_cast<size_t>(device)) cache.resize(static_cast<size_t>(device) + 1);
  DeviceProps& p = cache[static_cast<size_t>(device)];
  if (p.sms == 0) {
    int smem = 0;
    MLCN_CUDA_CHECK(cudaDeviceGetAttribute(&p.sms, cudaDevAttrMultiProcessorCount, device));
    MLCN_CUDA_CHECK(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    p.smem_optin = static_cast<size_t>(smem);
  }
  return p;
}

std::atomic<bool> g_allow_tf32{false};
std::atomic<RoutingVariant> g_routing{RoutingVariant::Auto};

// The device memory hooks handed to the engine.
void* mem_alloc(size_t bytes, int index) { return device_allocate(bytes, index, stream_for(index)); }
void mem_release(void* p, size_t, int) { device_release(p); }
void mem_memset0(void* p, size_t bytes, int index) {
  DeviceGuard g(index);
  MLCN_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_for(index)));
}
// Host-bound copies wait for the stream (the caller reads the data next); host-to-device copies
// from pageable memory are staged before cudaMemcpyAsync returns; copies between two GPUs wait,
// since the reader may be on another stream (the lane runtime orders its own with events).
void mem_copy(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  if (dd.is_cpu() && sd.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const int dev = dd.is_cuda() ? dd.index : sd.index;
  DeviceGuard g(dev);
  cudaStream_t s = stream_for(dev);
  if (dd.is_cuda() && sd.is_cuda() && dd.index != sd.index) {
    MLCN_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dd.index, src, sd.index, bytes, s));
    MLCN_CUDA_CHECK(cudaStreamSynchronize(s));
    return;
  }
  MLCN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
  if (dd.is_cpu()) MLCN_CUDA_CHECK(cudaStreamSynchronize(s));
}

}  // namespace

void set_current_stream(int device, cudaStream_t s) {
  MLCN_CUDA_CHECK(cudaSetDevice(device));
  t_device = device;
  t_stream = s;
}

int current_device() {
  int d = 0;
  MLCN_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

cudaStream_t current_stream() { return stream_for(current_device()); }

cudaStream_t stream_for(int device) { return device == t_device ? t_stream : nullptr; }

namespace {
// One cuBLAS workspace per (device, stream), made on first use and kept (streams are never
// destroyed either): cublasSetStream drops a handle's user workspace, and without one cuBLAS
// allocates its own inside captured graphs. 32 MiB on Hopper and newer, 4 MiB before (cuBLAS's
// recommendations).
void* stream_workspace(int device, cudaStream_t s, size_t* bytes) {
  static std::mutex mu;
  static auto* spaces = new std::map<std::pair<int, cudaStream_t>, std::pair<void*, size_t>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*spaces)[{device, s}];
  if (!slot.first) {
    int major = 0;
    MLCN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    slot.second = size_t(major >= 9 ? 32 : 4) << 20;
    MLCN_CUDA_CHECK(cudaMalloc(&slot.first, slot.second));
  }
  *bytes = slot.second;
  return slot.first;
}
}  // namespace

cublasHandle_t cublas_handle(cudaStream_t s) {
  const int d = current_device();
  t_handles.grow(d);
  cublasHandle_t& h = t_handles.blas[static_cast<size_t>(d)];
  if (!h) {
    h = take_pooled(handle_pool().blas, d);
    if (!h) MLCN_CUBLAS_CHECK(cublasCreate(&h));
    t_handles.blas_stream[static_cast<size_t>(d)] = nullptr;
    MLCN_CUBLAS_CHECK(cublasSetStream(h, nullptr));
  }
  if (t_handles.blas_stream[static_cast<size_t>(d)] != s) {
    MLCN_CUBLAS_CHECK(cublasSetStream(h, s));
    if (s) {
      size_t bytes = 0;
      void* ws = stream_workspace(d, s, &bytes);
      MLCN_CUBLAS_CHECK(cublasSetWorkspace(h, ws, bytes));
    }
    t_handles.blas_stream[static_cast<size_t>(d)] = s;
  }
  return h;
}

cudnnHandle_t cudnn_handle(cudaStream_t s) {
  const int d = current_device();
  t_handles.grow(d);
  cudnnHandle_t& h = t_handles.dnn[static_cast<size_t>(d)];
  if (!h) {
    h = take_pooled(handle_pool().dnn, d);
    if (!h) MLCN_CUDNN_CHECK(cudnnCreate(&h));
    t_handles.dnn_stream[static_cast<size_t>(d)] = nullptr;
    MLCN_CUDNN_CHECK(cudnnSetStream(h, nullptr));
  }
  if (t_handles.dnn_stream[static_cast<size_t>(d)] != s) {
    MLCN_CUDNN_CHECK(cudnnSetStream(h, s));
    t_handles.dnn_stream[static_cast<size_t>(d)] = s;
  }
  return h;
}

int sm_count(int device) { return props(device).sms; }
size_t max_shared_per_block(int device) { return props(device).smem_optin; }

DeviceGuard::DeviceGuard(int device) {
  MLCN_CUDA_CHECK(cudaGetDevice(&prev_));
  if (prev_ != device) MLCN_CUDA_CHECK(cudaSetDevice(device));
  else prev_ = -1;
}

DeviceGuard::~DeviceGuard() {
  if (prev_ >= 0) (void)cudaSetDevice(prev_);
}

void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }
void set_routing_variant(RoutingVariant v) { g_routing = v; }
RoutingVariant routing_variant() { return g_routing; }

}  // namespace mlcn::cuda

namespace mlcn {

bool cuda_available() { return cuda_device_count() > 0; }

int cuda_device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

void cuda_backend_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!cuda_available()) return;
    DeviceMemoryOps ops;
    ops.alloc = cuda::mem_alloc;
    ops.release = cuda::mem_release;
    ops.copy = cuda::mem_copy;
    ops.memset0 = cuda::mem_memset0;
    register_cuda_memory_ops(ops);
  });
}

std::string cuda_device_name(int device) {
  cudaDeviceProp p{};
  MLCN_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  return p.name;
}

CudaMemoryInfo cuda_memory_info(int device) {
  CudaMemoryInfo info;
  {
    cuda::DeviceGuard g(device);
    MLCN_CUDA_CHECK(cudaMemGetInfo(&info.free, &info.total));
  }
  cuda::AllocatorStats s = cuda::allocator_stats(device);
  info.in_use = s.in_use, info.peak = s.peak, info.reserved = s.reserved, info.mallocs = s.mallocs;
  return info;
}

void cuda_reset_peak(int device) { cuda::allocator_reset_peak(device); }
void cuda_empty_cache(int device) { cuda::allocator_empty_cache(device); }

}  // namespace mlcn
