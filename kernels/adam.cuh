// Launchers of the Adam update (kernels/adam.cu); formula in engine/cpu/adam.h. The
// multi-tensor form is declared in kernels/cuda_backend.h (AdamSlice) so the engine can call it
// without CUDA headers; this is its stream-taking launcher.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

#include "kernels/cuda_backend.h"  // defines: AdamSlice

namespace mlcn::cuda {

// p, g, m, v: (n)
void adam_update_cuda(float* p, const float* g, float* m, float* v, int64_t n, double lr_t, double b1, double b2,
                      double eps, cudaStream_t s);
void adam_update_many_cuda(const AdamSlice* slices, int count, double lr_t, double b1, double b2, double eps,
                           cudaStream_t s);

}  // namespace mlcn::cuda
