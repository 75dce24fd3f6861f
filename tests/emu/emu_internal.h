// What the emulator's files share (tests/emu): the emulated device's limits, the sticky-free
// launch error, and stream submission, which runs work at once or records it into the graph
// being captured on that stream.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <functional>

namespace mlcn_emu {

inline constexpr int kDevices = 2;  // so lanes can be placed on several "GPUs"
inline constexpr int kSms = 2;
inline constexpr size_t kMaxShared = 232448;  // H100: cudaDevAttrMaxSharedMemoryPerBlockOptin
inline constexpr unsigned kMaxCluster = 8;      // CUDA's portable cluster size

// The error the next cudaGetLastError returns (per host thread).
void set_error(cudaError_t e);

// What the host submits to a stream, counted per kind (outside captures: a captured operation is
// not a host submission when its graph is replayed).
enum class Work { Kernel, Copy, Fill, Library, Graph, Event };
struct Counts {
  long kernel = 0, copy = 0, fill = 0, library = 0, graph = 0;
  long pageable_upload = 0;  // host-to-device copies from pageable memory (among `copy`): each may stall the host
  long total() const { return kernel + copy + fill + library + graph; }
};
Counts counts();
void reset_counts();

// The emulated cuDNN's algorithm searches report no usable algorithm for the directions whose
// bit is set (1: forward, 2: data gradient, 4: filter gradient), per layout of the descriptors;
// (0, 0), the default, supports everything. For the tests of conv.cu's fallbacks.
void set_cudnn_unsupported(int nhwc_directions, int nchw_directions);

// Queues op on `stream` (runs it now on the legacy stream), or appends it to the graph being
// captured there.
void submit(cudaStream_t stream, Work kind, std::function<void()> op);
bool capturing(cudaStream_t stream);
// A capture that met an operation CUDA forbids while capturing: EndCapture will fail.
void invalidate_capture(cudaStream_t stream);

}  // namespace mlcn_emu
