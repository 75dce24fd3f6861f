// Launchers of the squash kernels (kernels/squash.cu); math in engine/cpu/capsule.h.
// squash acts on the last axis: v, s are (rows, D). The backward accumulates into ds.
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

namespace mlcn::kernels {

void squash_forward_cuda(float* v, const float* s, int64_t rows, int64_t D, cudaStream_t st);  // (rows, D)
// ds (rows, D) += f dv + 2 f'(n2) (s . dv) s
void squash_backward_cuda(float* ds, const float* dv, const float* s, int64_t rows, int64_t D, cudaStream_t st);

}  // namespace mlcn::kernels
