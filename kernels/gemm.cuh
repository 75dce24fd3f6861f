// Launcher of the row-major GEMM (kernels/gemm.cu), same contract as engine/cpu/gemm.h:
// C (M, N) = op(A) op(B) (+ C when beta = 1); A (M, K) or (K, M) when ta; B (K, N) or (N, K)
// when tb. The handle is the calling thread's for the current device (cuda_context.h).
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

namespace mlcn::kernels {

void gemm_cuda(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float beta, float* C,
               cudaStream_t s);

}  // namespace mlcn::kernels
