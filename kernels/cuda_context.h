// Per-thread CUDA context: the current device and stream (set by the lane runtime, one stream
// per lane), lazily created cuBLAS and cuDNN handles bound to that stream, device property
// queries, and the launch helpers every kernel file uses. Every entry point in
// engine/ops/cuda_bridge.h launches on current_stream(); the default is the legacy default
// stream of the current device. Handles are per (thread, device): cuBLAS and cuDNN handles
// must not be shared by threads that drive different streams.
// Include this header first in every .cu file: it pulls in the CUDA headers before
// base/check.h, which then defines MLCN_CUDA_CHECK, MLCN_CUBLAS_CHECK, MLCN_CUDNN_CHECK.
#pragma once
#include <cublas_v2.h>     // defines: cublasHandle_t, CUBLAS_VER_MAJOR
#include <cuda_runtime.h>  // defines: cudaStream_t, CUDART_VERSION
#include <cudnn.h>         // defines: cudnnHandle_t, CUDNN_MAJOR

#include <cstdint>

#include "base/check.h"

namespace mlcn::cuda {

// Makes `device` current for this thread and `s` its stream (s may be null: the legacy default).
void set_current_stream(int device, cudaStream_t s);
// The runtime's current device (cudaGetDevice), and the stream set for it by this thread
// (the legacy default stream when none was set, or while a DeviceGuard selects another device).
int current_device();
cudaStream_t current_stream();
// The stream work on `device` goes to: the current stream if `device` is the current one,
// else that device's legacy default stream.
cudaStream_t stream_for(int device);

// Handles of the current device for this thread, bound to stream `s` (re-bound only when the
// stream changes, since binding a cuBLAS handle resets its workspace).
cublasHandle_t cublas_handle(cudaStream_t s);
cudnnHandle_t cudnn_handle(cudaStream_t s);

int sm_count(int device);
// Largest dynamic shared memory one block may opt in to (cudaDevAttrMaxSharedMemoryPerBlockOptin).
size_t max_shared_per_block(int device);

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

}  // namespace mlcn::cuda
