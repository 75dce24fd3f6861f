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

// The error the next cudaGetLastError returns (per host thread).
void set_error(cudaError_t e);
// Runs op now, or appends it to the graph being captured on `stream`.
void submit(cudaStream_t stream, std::function<void()> op);
bool capturing(cudaStream_t stream);
// A capture that met an operation CUDA forbids while capturing: EndCapture will fail.
void invalidate_capture(cudaStream_t stream);

}  // namespace mlcn_emu
