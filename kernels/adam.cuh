// Launchers of the Adam update (kernels/adam.cu); formula in engine/cpu/adam.h. The
// multi-tensor form takes AdamSlice, the leaf type of base/adam_slice.h.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

#include "base/adam_slice.h"  // defines: AdamSlice

namespace mlcn::kernels {

// p, g, m, v: (n)
void adam_update_cuda(float* p, const float* g, float* m, float* v, int64_t n, double lr_t, double b1, double b2,
                      double eps, double keep, cudaStream_t s);
// rate: two floats in device memory, lr_t and keep (1 - lr wd).
void adam_update_many_cuda(const AdamSlice* slices, int count, const float* rate, double b1, double b2, double eps,
                           cudaStream_t s);

}  // namespace mlcn::kernels
