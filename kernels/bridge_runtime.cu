// The backend-control entry points of engine/ops/cuda_bridge.h (availability, streams,
// memory statistics, versions) on top of cuda_context and the caching allocator.
#include <nccl.h>  // defines: NCCL_VERSION_CODE (header only; nothing is linked)

#include <string>

#include "engine/ops/cuda_bridge.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_context.h"

namespace mlcn::cuda {

bool compiled() { return true; }

bool available() {
  if (!cuda_available()) return false;
  cuda_backend_init();
  return true;
}

int device_count() { return cuda_device_count(); }

std::string device_name(int device) { return cuda_device_name(device); }

std::string versions() {
  int rt = 0;
  (void)cudaRuntimeGetVersion(&rt);
  return "CUDA runtime " + std::to_string(rt) + ", cuDNN " + std::to_string(cudnnGetVersion()) + ", NCCL " +
         std::to_string(NCCL_VERSION_CODE);
}

void* create_stream(int device) {
  DeviceGuard g(device);
  cudaStream_t s = nullptr;
  MLCN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

void set_stream(int device, void* stream) { set_current_stream(device, static_cast<cudaStream_t>(stream)); }

void stream_synchronize(void* stream) { MLCN_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream))); }

void* create_event(int device) {
  DeviceGuard g(device);
  cudaEvent_t e = nullptr;
  MLCN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

void record_event(void* event, void* stream) {
  MLCN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)));
}

void stream_wait_event(void* stream, void* event) {
  MLCN_CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0));
}

MemoryStats memory_stats(int device) {
  CudaMemoryInfo m = cuda_memory_info(device);
  MemoryStats s;
  s.in_use = m.in_use, s.peak = m.peak, s.free = m.free, s.total = m.total;
  return s;
}

void reset_peak(int device) { cuda_reset_peak(device); }

}  // namespace mlcn::cuda
