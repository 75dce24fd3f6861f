// The CUDA runtime API as the emulator provides it (tests/emu/emu.h): the calls the project
// makes, on two emulated devices (cuda:0 and cuda:1, one host memory). Work on a created stream
// is queued and runs only when something needs it: a synchronisation of that stream (or of the
// device, or a cudaFree), a stream waiting for an event recorded behind it, or a copy into
// pageable host memory (which CUDA completes before returning). Nothing else orders two streams,
// so work the project forgot to order (a missing event wait or synchronisation) runs too late
// and its test fails. The legacy default stream runs work at once; copies from pageable memory
// read their source at the call, as CUDA stages them. Stream capture records work into graphs
// and follows CUDA's rules where a mistake would otherwise hide: synchronising a capturing
// stream, copying pageable host memory on it, or waiting there for an event recorded outside
// the capture invalidates the capture.
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <memory>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "tests/emu/emu.h"
#include "tests/emu/emu_internal.h"

struct CUevent_st {
  uint64_t capture = 0;          // the capture it was recorded in (0: none)
  cudaStream_t stream = nullptr;  // where it was last recorded
  uint64_t recorded = 0, completed = 0;  // records queued and records reached
};
struct CUgraph_st {
  std::vector<std::function<void()>> ops;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> ops;
};

namespace mlcn_emu {
namespace {

thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;

struct Capture {
  uint64_t id = 0;
  bool invalid = false;
  std::vector<std::function<void()>> ops;
};

std::mutex g_mu;  // guards the memory sets, the captures and the counts
std::set<void*> g_device;
std::map<const char*, size_t> g_pinned;  // pinned host blocks by base address, with their sizes
std::map<cudaStream_t, Capture> g_captures;
uint64_t g_capture_ids = 0;
Counts g_counts;

// Queued work per created stream. Held while work runs, so execution is serialised; recursive
// because running a wait drains the stream it waits for.
std::recursive_mutex g_exec_mu;
std::map<cudaStream_t, std::deque<std::function<void()>>> g_queues;

// Runs the oldest queued operation of s; false when there is none.
bool run_one(cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  auto& q = g_queues[s];
  if (q.empty()) return false;
  std::function<void()> op = std::move(q.front());
  q.pop_front();
  op();
  return true;
}

std::vector<cudaStream_t> g_created;  // streams in creation order

void drain_all() {
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  for (bool ran = true; ran;) {
    ran = false;
    for (auto it = g_created.rbegin(); it != g_created.rend(); ++it) ran = run_one(*it) || ran;
  }
}

// Runs s's queue. In the reverse run (MLCN_EMU_REVERSE) every other stream runs first, newest
// first: a schedule as legal as the lazy one (the waits inside the queues still order what
// depends on what), but one where work another stream forgot to wait for runs before it exists.
void drain(cudaStream_t s) {
  static const bool reverse = std::getenv("MLCN_EMU_REVERSE") != nullptr;
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  if (reverse) drain_all();
  while (run_one(s)) {
  }
}

enum class Mem { Device, Pinned, Pageable };
Mem kind_of(const void* p) {
  std::lock_guard<std::mutex> lock(g_mu);
  for (void* base : g_device)  // interior pointers count too
    if (p >= base && p < static_cast<const char*>(base) + *reinterpret_cast<size_t*>(static_cast<char*>(base) - 64))
      return Mem::Device;
  auto it = g_pinned.upper_bound(static_cast<const char*>(p));  // the block at or below p, if p is inside it
  if (it == g_pinned.begin()) return Mem::Pageable;
  --it;
  return static_cast<const char*>(p) < it->first + it->second ? Mem::Pinned : Mem::Pageable;
}

// Device allocations carry their size 64 bytes before the returned pointer (for kind_of).
void* device_alloc(size_t bytes) {
  const size_t rounded = (bytes + 255) / 256 * 256;
  char* raw = static_cast<char*>(std::aligned_alloc(256, rounded + 256));
  if (!raw) return nullptr;
  char* p = raw + 256;
  *reinterpret_cast<size_t*>(p - 64) = rounded;
  std::memset(p, 0xff, rounded);  // fresh device memory is garbage (NaN), not zeros
  return p;
}

cudaError_t fail(cudaError_t e) {
  t_last_error = e;
  return e;
}

}  // namespace

void set_error(cudaError_t e) { t_last_error = e; }

Counts counts() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_counts;
}

void reset_counts() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_counts = Counts{};
}

void submit(cudaStream_t stream, Work kind, std::function<void()> op) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_captures.find(stream);
    if (it != g_captures.end()) {
      it->second.ops.push_back(std::move(op));
      return;
    }
    switch (kind) {
      case Work::Kernel: ++g_counts.kernel; break;
      case Work::Copy: ++g_counts.copy; break;
      case Work::Fill: ++g_counts.fill; break;
      case Work::Library: ++g_counts.library; break;
      case Work::Graph: ++g_counts.graph; break;
      case Work::Event: break;
    }
  }
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  if (stream) g_queues[stream].push_back(std::move(op));
  else op();
}

bool capturing(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_captures.count(stream) > 0;
}

void invalidate_capture(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_captures.find(stream);
  if (it != g_captures.end()) it->second.invalid = true;
}

}  // namespace mlcn_emu

using namespace mlcn_emu;

extern "C" {

// ---- memory ----
cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = device_alloc(bytes);
  if (!*p) return fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(g_mu);
  g_device.insert(*p);
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  drain_all();  // cudaFree waits for the device
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_device.erase(p)) return fail(cudaErrorInvalidValue);
  }
  std::free(static_cast<char*>(p) - 256);
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** p, size_t bytes) {
  *p = std::malloc(bytes ? bytes : 1);
  std::lock_guard<std::mutex> lock(g_mu);
  g_pinned[static_cast<const char*>(*p)] = bytes ? bytes : 1;
  return cudaSuccess;
}
cudaError_t cudaFreeHost(void* p) {
  drain_all();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_pinned.erase(static_cast<const char*>(p));
  }
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  *free = *total = size_t(80) << 30;
  return cudaSuccess;
}
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
  std::memset(a, 0, sizeof(*a));
  const Mem k = kind_of(p);
  a->type = k == Mem::Device ? cudaMemoryTypeDevice : k == Mem::Pinned ? cudaMemoryTypeHost : cudaMemoryTypeUnregistered;
  return cudaSuccess;
}

// ---- copies and fills (a capture may not touch pageable host memory) ----
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind) {
  if (n) std::memmove(dst, src, n);  // the legacy stream: no wait for the non-blocking streams
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t s) {
  if (n == 0) return cudaSuccess;
  if (capturing(s) && (kind_of(dst) == Mem::Pageable || kind_of(src) == Mem::Pageable)) {
    invalidate_capture(s);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  if (kind_of(dst) == Mem::Pageable) {  // completes before returning
    drain(s);
    std::memmove(dst, src, n);
    return cudaSuccess;
  }
  if (kind_of(src) == Mem::Pageable) {  // staged at the call
    {
      std::lock_guard<std::mutex> lock(g_mu);
      ++g_counts.pageable_upload;
    }
    auto staged = std::make_shared<std::vector<char>>(static_cast<const char*>(src), static_cast<const char*>(src) + n);
    submit(s, Work::Copy, [=] { std::memmove(dst, staged->data(), n); });
    return cudaSuccess;
  }
  submit(s, Work::Copy, [=] { std::memmove(dst, src, n); });
  return cudaSuccess;
}
cudaError_t cudaMemcpyPeerAsync(void* dst, int, const void* src, int, size_t n, cudaStream_t s) {
  return cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, s);
}
cudaError_t cudaMemset(void* p, int v, size_t n) {
  std::memset(p, v, n);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t s) {
  submit(s, Work::Fill, [=] { std::memset(p, v, n); });
  return cudaSuccess;
}

// ---- streams, events, capture, graphs ----
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = reinterpret_cast<cudaStream_t>(new char);
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  g_created.push_back(*s);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  drain(s);  // queued work still completes
  g_queues.erase(s);
  g_created.erase(std::remove(g_created.begin(), g_created.end(), s), g_created.end());
  delete reinterpret_cast<char*>(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  if (capturing(s)) {
    invalidate_capture(s);
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  if (s) drain(s);
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) {
  drain_all();
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new CUevent_st;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_captures.find(s);
    e->capture = it == g_captures.end() ? 0 : it->second.id;
    if (e->capture) return cudaSuccess;  // inside a graph, order is the capture's
  }
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  const uint64_t ticket = ++e->recorded;
  e->stream = s;
  submit(s, Work::Event, [e, ticket] { e->completed = std::max(e->completed, ticket); });
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {  // runs the recording stream up to the last record
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  while (e->completed < e->recorded && run_one(e->stream)) {
  }
  return cudaSuccess;  // also for an event never recorded, as CUDA does
}
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_captures.find(s);
    if (it != g_captures.end()) {
      if (e->capture != it->second.id) {  // a dependency on work outside the graph
        it->second.invalid = true;
        return fail(cudaErrorStreamCaptureIsolation);
      }
      return cudaSuccess;
    }
  }
  std::lock_guard<std::recursive_mutex> lock(g_exec_mu);
  const uint64_t ticket = e->recorded;
  const cudaStream_t src = e->stream;
  // When s reaches this point, the recording stream runs up to the record.
  submit(s, Work::Event, [e, ticket, src] {
    while (e->completed < ticket && run_one(src)) {
    }
  });
  return cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode) {
  if (!s) return fail(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot be captured
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_captures.count(s)) return fail(cudaErrorIllegalState);
  g_captures[s].id = ++g_capture_ids;
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* graph) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_captures.find(s);
  if (it == g_captures.end()) return fail(cudaErrorIllegalState);
  const bool invalid = it->second.invalid;
  *graph = invalid ? nullptr : new CUgraph_st{std::move(it->second.ops)};
  g_captures.erase(it);
  return invalid ? fail(cudaErrorStreamCaptureInvalidated) : cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus* status) {
  *status = capturing(s) ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusNone;
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  *exec = new CUgraphExec_st{graph->ops};
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
  submit(s, Work::Graph, [exec] {
    for (auto& op : exec->ops) op();
  });
  return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
  delete g;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) {
  delete e;
  return cudaSuccess;
}

// ---- errors, device queries ----
cudaError_t cudaGetLastError(void) {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return t_last_error; }
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidClusterSize: return "invalid cluster size";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureIsolation: return "operation would make the legacy stream depend on a capturing blocking stream";
    default: return "emulated CUDA error";
  }
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = CUDART_VERSION;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* d) {
  *d = t_device;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
  if (d < 0 || d >= kDevices) return fail(cudaErrorInvalidDevice);
  t_device = d;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceCount(int* n) {
  *n = kDevices;
  return cudaSuccess;
}
// Every emulated device can map every other's memory; enabling it twice is an error, as on a GPU.
cudaError_t cudaDeviceCanAccessPeer(int* can, int device, int peer) {
  if (device < 0 || device >= kDevices || peer < 0 || peer >= kDevices) return fail(cudaErrorInvalidDevice);
  *can = device != peer;
  return cudaSuccess;
}
cudaError_t cudaDeviceEnablePeerAccess(int peer, unsigned int flags) {
  static std::mutex mu;
  static std::set<std::pair<int, int>> enabled;
  if (peer < 0 || peer >= kDevices || peer == t_device || flags != 0) return fail(cudaErrorInvalidDevice);
  std::lock_guard<std::mutex> lock(mu);
  if (!enabled.insert({t_device, peer}).second) return fail(cudaErrorPeerAccessAlreadyEnabled);
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof(*p));
  std::strncpy(p->name, "CUDA emulator on the CPU (tests/emu)", sizeof(p->name) - 1);
  p->multiProcessorCount = kSms;
  p->sharedMemPerBlockOptin = kMaxShared;
  p->major = 9;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  switch (a) {
    case cudaDevAttrMultiProcessorCount: *v = kSms; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = int(kMaxShared); break;
    case cudaDevAttrComputeCapabilityMajor: *v = 9; break;
    case cudaDevAttrClusterLaunch: *v = 1; break;
    default: *v = 0;
  }
  return cudaSuccess;
}
// Clusters of up to the portable 8 blocks fit (the emulator runs a cluster's blocks together
// whatever its 2 SMs); a bigger one, or a configuration a launch would refuse, fits none.
cudaError_t cudaOccupancyMaxActiveClusters(int* n, const void*, const cudaLaunchConfig_t* cfg) {
  Config c;
  if (!config_of(cfg, c)) return fail(cudaErrorNotSupported);
  const unsigned threads = c.block.x * c.block.y * c.block.z;
  *n = c.cluster >= 1 && c.cluster <= kMaxCluster && threads >= 1 && threads <= 1024 && c.smem <= kMaxShared ? kSms : 0;
  return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void*, cudaFuncAttribute, int v) {
  return v >= 0 && size_t(v) <= kMaxShared ? cudaSuccess : fail(cudaErrorInvalidValue);
}

}  // extern "C"
