// Launcher of the non-finite count (kernels/finite.cu): the training loop's NaN/Inf guard
// (engine/train/finite_guard.cpp) asks it once per GPU per step instead of copying every
// parameter and Adam moment to the host. CPU twin: cpu::count_non_finite (engine/cpu/elementwise.h).
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

namespace mlcn::kernels {

// Number of NaN or Inf elements in arrays[0..count), arrays[k] (sizes[k]) float32 on the current
// device; the pointer and size tables are host arrays. All counts meet in one device counter
// (one launch per 64 arrays), which comes back in one 8-byte copy: waits for s.
int64_t count_non_finite_cuda(const float* const* arrays, const int64_t* sizes, int count, cudaStream_t s);

}  // namespace mlcn::kernels
