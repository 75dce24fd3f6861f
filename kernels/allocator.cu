// Caching device allocator; see allocator.h for the policy.
#include "kernels/allocator.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/check.h"
#include "kernels/cuda_context.h"

namespace mlcn::kernels {
namespace {

struct Block {
  size_t bytes = 0;  // the size class
  int device = 0;
  cudaStream_t stream = nullptr;
  uint64_t pool = 0;  // 0: the shared cache; else a graph's private pool
};

using FreeKey = std::tuple<int, cudaStream_t, uint64_t, size_t>;  // (device, stream, pool, size class)

struct DeviceCounters {
  size_t in_use = 0, peak = 0, reserved = 0, mallocs = 0;
};

class Cache {
 public:
  void* allocate(size_t bytes, int device, cudaStream_t stream) {
    const size_t cls = allocator_size_class(bytes);
    uint64_t pool = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto sp = stream_pool_.find(stream);
      if (sp != stream_pool_.end()) pool = sp->second;
      auto it = free_.find(FreeKey{device, stream, pool, cls});
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        note_alloc(p, cls, device, stream, pool);
        return p;
      }
    }
    DeviceGuard guard(device);
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, cls);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear the (non-sticky) error of the failed call
      empty_cache(device);
      err = cudaMalloc(&p, cls);
    }
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      AllocatorStats s = stats(device);
      MLCN_FAIL("cudaMalloc of " << cls << " bytes on cuda:" << device << " failed: " << cudaGetErrorString(err)
                                 << " (allocator: " << s.in_use << " bytes in use, " << s.reserved << " reserved)");
    }
    std::lock_guard<std::mutex> lock(mu_);
    DeviceCounters& c = counters(device);
    c.reserved += cls;
    c.mallocs += 1;
    note_alloc(p, cls, device, stream, pool);
    return p;
  }

  void release(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    MLCN_CHECK(it != live_.end(), "device_release of a pointer the allocator does not own");
    const Block b = it->second;
    live_.erase(it);
    counters(b.device).in_use -= b.bytes;
    const bool pool_alive = b.pool == 0 || dead_pools_.count(b.pool) == 0;
    free_[FreeKey{b.device, b.stream, pool_alive ? b.pool : 0, b.bytes}].push_back(p);
  }

  void set_pool(cudaStream_t stream, uint64_t pool) {
    std::lock_guard<std::mutex> lock(mu_);
    if (pool == 0) stream_pool_.erase(stream);
    else stream_pool_[stream] = pool;
  }
  uint64_t pool_of(cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = stream_pool_.find(stream);
    return it == stream_pool_.end() ? 0 : it->second;
  }

  uint64_t new_pool() {
    std::lock_guard<std::mutex> lock(mu_);
    return ++last_pool_;
  }

  // Frees the pool's cached blocks; blocks still live return to the shared cache when released.
  void release_pool(uint64_t pool, int device) {
    std::vector<std::pair<void*, size_t>> victims;
    {
      std::lock_guard<std::mutex> lock(mu_);
      dead_pools_.insert(pool);
      take_free(victims, [&](const FreeKey& k) { return std::get<0>(k) == device && std::get<2>(k) == pool; });
    }
    free_blocks(victims, device);
  }

  AllocatorStats stats(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    const DeviceCounters& c = counters(device);
    return {c.in_use, c.peak, c.reserved, c.mallocs};
  }

  void reset_peak(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    DeviceCounters& c = counters(device);
    c.peak = c.in_use;
  }

  // cudaFree waits for the device, so every queued use of a cached block has finished.
  void empty_cache(int device) {
    std::vector<std::pair<void*, size_t>> victims;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // A live graph's pool keeps its blocks: its replays write them.
      take_free(victims, [&](const FreeKey& k) { return std::get<0>(k) == device && std::get<2>(k) == 0; });
    }
    free_blocks(victims, device);
  }

 private:
  // Moves the free lists matching `pick` into victims (under mu_).
  template <class Pick> void take_free(std::vector<std::pair<void*, size_t>>& victims, Pick pick) {
    for (auto it = free_.begin(); it != free_.end();) {
      if (pick(it->first)) {
        for (void* p : it->second) victims.push_back({p, std::get<3>(it->first)});
        it = free_.erase(it);
      } else {
        ++it;
      }
    }
  }
  void free_blocks(const std::vector<std::pair<void*, size_t>>& victims, int device) {
    DeviceGuard guard(device);
    size_t freed = 0;
    for (auto& v : victims) {
      MLCN_CUDA_CHECK(cudaFree(v.first));
      freed += v.second;
    }
    std::lock_guard<std::mutex> lock(mu_);
    counters(device).reserved -= freed;
  }
  void note_alloc(void* p, size_t cls, int device, cudaStream_t stream, uint64_t pool) {
    live_[p] = Block{cls, device, stream, pool};
    DeviceCounters& c = counters(device);
    c.in_use += cls;
    if (c.in_use > c.peak) c.peak = c.in_use;
  }
  DeviceCounters& counters(int device) {
    MLCN_CHECK(device >= 0, "bad CUDA device index " << device);
    if (static_cast<size_t>(device) >= per_device_.size()) per_device_.resize(static_cast<size_t>(device) + 1);
    return per_device_[static_cast<size_t>(device)];
  }

  std::mutex mu_;
  std::map<FreeKey, std::vector<void*>> free_;
  std::unordered_map<void*, Block> live_;
  std::vector<DeviceCounters> per_device_;
  uint64_t last_pool_ = 0;
  std::set<uint64_t> dead_pools_;
  std::map<cudaStream_t, uint64_t> stream_pool_;  // streams capturing a graph -> its pool
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors may be released after main() returns
  return *c;
}

}  // namespace

size_t allocator_size_class(size_t bytes) {
  constexpr size_t kMin = 512;
  if (bytes <= kMin) return kMin;
  // Largest power of two not above bytes-1, then steps of a quarter of it.
  size_t top = size_t(1) << (63 - __builtin_clzll(static_cast<unsigned long long>(bytes - 1)));
  size_t step = top / 4;
  return (bytes + step - 1) / step * step;
}

void* device_allocate(size_t bytes, int device, cudaStream_t stream) {
  return cache().allocate(bytes, device, stream);
}
void device_release(void* p) { cache().release(p); }
AllocatorStats allocator_stats(int device) { return cache().stats(device); }
void allocator_reset_peak(int device) { cache().reset_peak(device); }
void allocator_empty_cache(int device) { cache().empty_cache(device); }
uint64_t allocator_new_pool() { return cache().new_pool(); }
void allocator_set_pool(cudaStream_t stream, uint64_t pool) { cache().set_pool(stream, pool); }
uint64_t allocator_pool(cudaStream_t stream) { return cache().pool_of(stream); }
void allocator_release_pool(uint64_t pool, int device) { cache().release_pool(pool, device); }

DeviceBuffer::DeviceBuffer(size_t bytes, cudaStream_t stream) : bytes_(bytes) {
  if (bytes > 0) ptr_ = device_allocate(bytes, current_device(), stream);
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) device_release(ptr_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_) device_release(ptr_);
    ptr_ = o.ptr_, bytes_ = o.bytes_;
    o.ptr_ = nullptr, o.bytes_ = 0;
  }
  return *this;
}

namespace {

// The pinned staging ring of one device (allocator.h, upload). Slots are handed out round-robin
// under the mutex; a slot stays `busy` from its hand-out until its copy and event are queued, so
// two threads never fill one slot, and its event says when the copy has read it.
struct StagingSlot {
  char* host = nullptr;
  cudaEvent_t copied = nullptr;
  bool busy = false;
};

struct StagingRing {
  std::vector<StagingSlot> slots;
  int next = 0;
};

class Staging {
 public:
  // Sends bytes (at most kStagingSlotBytes) of host to dst on s through a slot; false when every
  // slot is being filled by other threads at this moment (the caller copies directly).
  bool send(void* dst, const void* host, size_t bytes, cudaStream_t s) {
    StagingSlot* slot = acquire(current_device());
    if (!slot) return false;
    struct Release {  // the slot is free again once its copy is queued, or if queuing throws
      Staging* self;
      StagingSlot* slot;
      ~Release() {
        std::lock_guard<std::mutex> lock(self->mu_);
        slot->busy = false;
      }
    } release{this, slot};
    MLCN_CUDA_CHECK(cudaEventSynchronize(slot->copied));  // its previous copy has read it (at once, normally)
    std::memcpy(slot->host, host, bytes);
    MLCN_CUDA_CHECK(cudaMemcpyAsync(dst, slot->host, bytes, cudaMemcpyHostToDevice, s));
    MLCN_CUDA_CHECK(cudaEventRecord(slot->copied, s));
    return true;
  }

 private:
  StagingSlot* acquire(int device) {
    std::lock_guard<std::mutex> lock(mu_);
    StagingRing& r = rings_[device];
    if (r.slots.empty()) {  // first use on this device (the current one): its pinned block and events
      char* block = nullptr;
      MLCN_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&block), kStagingSlotBytes * kStagingSlots));
      r.slots.resize(kStagingSlots);
      for (int i = 0; i < kStagingSlots; ++i) {
        r.slots[size_t(i)].host = block + size_t(i) * kStagingSlotBytes;
        MLCN_CUDA_CHECK(cudaEventCreateWithFlags(&r.slots[size_t(i)].copied, cudaEventDisableTiming));
      }
    }
    for (int k = 0; k < kStagingSlots; ++k) {
      const int i = (r.next + k) % kStagingSlots;
      if (!r.slots[size_t(i)].busy) {
        r.next = (i + 1) % kStagingSlots;
        r.slots[size_t(i)].busy = true;
        return &r.slots[size_t(i)];
      }
    }
    return nullptr;
  }

  std::mutex mu_;
  std::map<int, StagingRing> rings_;  // by device; slots never move once made
};

Staging& staging() {
  static auto* s = new Staging();  // pinned blocks and events live until exit
  return *s;
}

}  // namespace

bool staged_upload(void* dst, const void* host, size_t bytes, cudaStream_t s) {
  if (bytes == 0 || bytes > kStagingSlotBytes) return false;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  MLCN_CUDA_CHECK(cudaStreamIsCapturing(s, &capture));
  if (capture != cudaStreamCaptureStatusNone) return false;  // a graph would read the slot at every replay
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, host) == cudaSuccess && attr.type == cudaMemoryTypeHost) return false;
  (void)cudaGetLastError();
  return staging().send(dst, host, bytes, s);
}

DeviceBuffer upload(const void* host, size_t bytes, cudaStream_t s) {
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  MLCN_CUDA_CHECK(cudaStreamIsCapturing(s, &capture));
  MLCN_CHECK(capture == cudaStreamCaptureStatusNone,
             "a host array cannot be uploaded inside a CUDA graph capture (upload it to a static buffer before the capture)");
  DeviceBuffer buf(bytes, s);
  if (bytes == 0 || staged_upload(buf.get(), host, bytes, s)) return buf;
  MLCN_CUDA_CHECK(cudaMemcpyAsync(buf.get(), host, bytes, cudaMemcpyHostToDevice, s));
  // A pinned source is read asynchronously; wait so the caller may reuse it at once.
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, host) == cudaSuccess && attr.type == cudaMemoryTypeHost)
    MLCN_CUDA_CHECK(cudaStreamSynchronize(s));
  else
    (void)cudaGetLastError();
  return buf;
}

}  // namespace mlcn::kernels
