// The CUDA backend's plain C++ face: everything the engine, the CLI and the tests call that
// needs no CUDA header. cuda_backend_init() probes for a GPU and, when one works, registers the
// device memory hooks (engine/core/tensor.h) backed by the caching allocator; without a GPU it
// does nothing and tensors on cuda:k raise "no GPU found". Defined in kernels/cuda_context.cu
// (init, queries, switches).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace mlcn {

// True when the CUDA runtime finds at least one usable device. Any error (no driver, which the
// runtime reports as cudaErrorInsufficientDriver, no device, a broken install) counts as false.
bool cuda_available();
// Idempotent; safe to call without a GPU.
void cuda_backend_init();
int cuda_device_count();                 // 0 without a usable GPU
std::string cuda_device_name(int device);

// Device memory: the driver's view (cudaMemGetInfo) and the caching allocator's.
struct CudaMemoryInfo {
  size_t free = 0, total = 0;  // cudaMemGetInfo
  size_t in_use = 0;           // bytes in live allocations (size-class rounded)
  size_t peak = 0;             // high-water mark of in_use since start or the last reset
  size_t reserved = 0;         // bytes obtained from cudaMalloc (in use + cached)
  size_t mallocs = 0;          // cudaMalloc calls so far (constant in the steady state)
};
CudaMemoryInfo cuda_memory_info(int device);
void cuda_reset_peak(int device);
// Returns the device's cached, unused blocks to the driver (synchronises that device).
void cuda_empty_cache(int device);

namespace cuda {

// TF32 tensor-core math for cuBLAS GEMMs and cuDNN convolutions. Off by default, so float32
// results match the CPU twins to float rounding; runtime.allow_tf32 turns it on.
void set_allow_tf32(bool allow);
bool allow_tf32();

// Dynamic routing with J > 1 (or J == 1 without the fast path): Fused runs all iterations of
// one batch element in one thread block with b and c in shared memory; Unfused is the
// reference, one kernel per stage with its state in global memory. Auto takes Fused when the
// state fits the device's shared memory, else Unfused. Forcing Fused where it does not fit throws.
enum class RoutingVariant { Auto, Fused, Unfused };
void set_routing_variant(RoutingVariant v);
RoutingVariant routing_variant();

}  // namespace cuda
}  // namespace mlcn
