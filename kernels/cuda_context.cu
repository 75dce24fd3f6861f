// The CUDA context of the kernels (cuda_context.h): setup streams, per-thread cuBLAS/cuDNN
// handles bound to the stream of each call, device properties, and the backend switches.
#include "kernels/cuda_context.h"

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "kernels/allocator.h"

namespace mlcn::kernels {
namespace {

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
  int clusters = 0;  // cudaDevAttrClusterLaunch
};

// By value: another thread may grow the cache (a reference into it would dangle).
DeviceProps props(int device) {
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
    MLCN_CUDA_CHECK(cudaDeviceGetAttribute(&p.clusters, cudaDevAttrClusterLaunch, device));
    p.smem_optin = static_cast<size_t>(smem);
  }
  return p;
}

std::atomic<bool> g_allow_tf32{false};
std::atomic<RoutingVariant> g_routing{RoutingVariant::Auto};
std::atomic<PredictVariant> g_predict{PredictVariant::Auto};

}  // namespace

cudaStream_t setup_stream(int device) {
  static std::mutex mu;
  static auto* streams = new std::map<int, cudaStream_t>();
  std::lock_guard<std::mutex> lock(mu);
  cudaStream_t& s = (*streams)[device];
  if (!s) {
    DeviceGuard g(device);
    MLCN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  }
  return s;
}

cudaStream_t stream_of(const Stream& s) {
  MLCN_CHECK(s.device >= 0, "CUDA work without a device: the stream names none");
  return s.handle ? static_cast<cudaStream_t>(s.handle) : setup_stream(s.device);
}

int current_device() {
  int d = 0;
  MLCN_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

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
bool supports_clusters(int device) { return props(device).clusters != 0; }

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
void set_predict_variant(PredictVariant v) { g_predict = v; }
PredictVariant predict_variant() { return g_predict; }

int device_count() {
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

kernels::MemoryInfo memory_info(int device) {
  kernels::MemoryInfo info;
  {
    DeviceGuard g(device);
    MLCN_CUDA_CHECK(cudaMemGetInfo(&info.free, &info.total));
  }
  AllocatorStats s = allocator_stats(device);
  info.in_use = s.in_use, info.peak = s.peak, info.reserved = s.reserved, info.mallocs = s.mallocs;
  return info;
}

}  // namespace mlcn::kernels
