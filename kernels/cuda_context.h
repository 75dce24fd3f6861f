// The CUDA context of the kernels: each device's setup stream, the conversion of a Stream
// (base/stream.h) to a cudaStream_t, cuBLAS and cuDNN handles bound to the stream of the call,
// device property queries, the backend switches (TF32, routing variant), and the launch helpers
// every kernel file uses. There is no current stream: every launch names its stream. Handles
// are cached per (thread, device), since cuBLAS and cuDNN handles must not be shared by
// threads that drive different streams; each call re-binds its handle to the call's stream.
// Include this header first in every .cu file: it pulls in the CUDA headers before
// base/check.h, which then defines MLCN_CUDA_CHECK, MLCN_CUBLAS_CHECK, MLCN_CUDNN_CHECK.
#pragma once
#include <cublas_v2.h>     // defines: cublasHandle_t, CUBLAS_VER_MAJOR
#include <cuda_runtime.h>  // defines: cudaStream_t, CUDART_VERSION
#include <cudnn.h>         // defines: cudnnHandle_t, CUDNN_MAJOR

#include <cstdint>

#include "base/check.h"
#include "base/stream.h"
#include "kernels/api.h"  // defines: RoutingVariant, PredictVariant, MemoryInfo

namespace mlcn::kernels {


// The device's setup stream: non-blocking, created on first use, never destroyed.
cudaStream_t setup_stream(int device);
// The cudaStream_t of s (its device's setup stream when s.handle is null).
cudaStream_t stream_of(const Stream& s);
// The runtime's current device (cudaGetDevice).
int current_device();
// Devices the runtime finds (0 on any error: no driver, no device); never throws.
int device_count();

// Handles of the current device for this thread, bound to stream `s` (re-bound only when the
// stream changes, since binding a cuBLAS handle resets its workspace).
cublasHandle_t cublas_handle(cudaStream_t s);
cudnnHandle_t cudnn_handle(cudaStream_t s);

int sm_count(int device);
// Whether the device can launch thread-block clusters (cudaDevAttrClusterLaunch: sm_90 and later).
bool supports_clusters(int device);
// Largest dynamic shared memory one block may opt in to (cudaDevAttrMaxSharedMemoryPerBlockOptin).
size_t max_shared_per_block(int device);

// TF32 tensor-core math for cuBLAS GEMMs and cuDNN convolutions (off by default).
void set_allow_tf32(bool allow);
bool allow_tf32();
// The routing variant the api table's routing entries use (Auto by default).
void set_routing_variant(RoutingVariant v);
RoutingVariant routing_variant();
// The prediction transform's variant for the api table's predict entries (Auto by default).
void set_predict_variant(PredictVariant v);
PredictVariant predict_variant();
// The driver's and the caching allocator's view of a device's memory.
kernels::MemoryInfo memory_info(int device);

// Makes `device` current for the lifetime of the guard, then restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_ = -1;
};

// Block size of the elementwise and row kernels; a multiple of the warp size.
inline constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items: enough to fill the device, never more than needed.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  int64_t cap = static_cast<int64_t>(sm_count(current_device())) * 32;
  if (blocks > cap) blocks = cap;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

}  // namespace mlcn::kernels
