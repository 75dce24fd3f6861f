// AdamSlice: one parameter tensor of a fused Adam step, as the engine hands it to the kernel
// (kernels/adam.cuh). p, g, m, v are (n) float32 arrays on one GPU.
#pragma once
#include <cstdint>

namespace mlcn {

struct AdamSlice {
  float* p = nullptr;  // (n) parameter
  float* g = nullptr;  // (n) gradient, zeroed by the update
  float* m = nullptr;  // (n) first moment
  float* v = nullptr;  // (n) second moment
  int64_t n = 0;
};

}  // namespace mlcn
