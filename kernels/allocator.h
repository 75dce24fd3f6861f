// Caching device allocator. Blocks are rounded up to size classes (4 classes per power of two,
// at least 512 bytes, so at most 25% is wasted) and, when freed, kept on a free list keyed by
// (device, stream, size class) instead of going back to cudaFree. A training step allocates the
// same sizes every step, so after the first step no cudaMalloc happens.
// Stream safety: a freed block is reused only by allocations on the stream it was allocated
// on, so work already queued on that stream finishes before the new owner's work starts.
// A tensor used on a second stream must be ordered by the caller (an event), as in PyTorch.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstddef>
#include <cstdint>

namespace mlcn::kernels {

struct AllocatorStats {
  size_t in_use = 0, peak = 0, reserved = 0, mallocs = 0;
};

// Both are thread-safe. allocate() runs cudaMalloc on `device` when the free list is empty;
// on out-of-memory it frees that device's cached blocks once and retries, then throws.
void* device_allocate(size_t bytes, int device, cudaStream_t stream);
void device_release(void* p);
AllocatorStats allocator_stats(int device);
void allocator_reset_peak(int device);
void allocator_empty_cache(int device);
// The size class a request of `bytes` is served from.
size_t allocator_size_class(size_t bytes);

// Private pools for CUDA graphs. While a stream has a pool (it is capturing a graph), allocations
// on that stream are served from, and their blocks released to, that pool only: the addresses a captured graph uses are never
// handed to other work. empty_cache leaves pools alone; release_pool frees a pool's cached blocks
// (synchronising the device), and blocks of a released pool still live at that point go to the
// shared cache when released.
uint64_t allocator_new_pool();
void allocator_set_pool(cudaStream_t stream, uint64_t pool);  // 0: the shared cache again
uint64_t allocator_pool(cudaStream_t stream);
void allocator_release_pool(uint64_t pool, int device);

// A scratch device buffer on the current device for work on `stream`, returned to the cache
// when it goes out of scope (the release is stream-ordered, see above). Zero bytes: no memory.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t bytes, cudaStream_t stream);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr, o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  void* get() const { return ptr_; }
  template <class T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Copies a host array into a new DeviceBuffer, ordered on `stream`; the host array may be reused
// as soon as this returns. Arrays of up to kStagingSlotBytes (a step's labels, class selections,
// lane scales) are copied into a slot of a per-device ring of kStagingSlots pinned buffers and
// sent from there asynchronously: a pageable source would make the driver wait for the stream's
// earlier work first, stalling the calling thread every step. A slot is reused only after an
// event says its last copy has run. Larger pageable arrays go through the driver's staging; a
// pinned source is waited for. Refused while `stream` is capturing a graph.
constexpr size_t kStagingSlotBytes = size_t(16) << 10;
constexpr int kStagingSlots = 64;
DeviceBuffer upload(const void* host, size_t bytes, cudaStream_t stream);
// The staged path alone, for any host-to-device copy (the backend table's copy uses it too):
// sends `bytes` of `host` to device memory `dst` on `stream` through a slot and returns true, or
// sends nothing and returns false when host is pinned, bytes is 0 or above kStagingSlotBytes, the
// stream is capturing a graph, or every slot is being filled by other threads at this moment.
bool staged_upload(void* dst, const void* host, size_t bytes, cudaStream_t stream);

}  // namespace mlcn::kernels
