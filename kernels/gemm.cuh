// Launcher of the row-major GEMM (kernels/gemm.cu), same contract as engine/cpu/gemm.h:
// C (M, N) = op(A) op(B) (+ C when beta = 1); A (M, K) or (K, M) when ta; B (K, N) or (N, K)
// when tb. The handle is the calling thread's for the current device (cuda_context.h).
#pragma once
#include <cuda_runtime.h>  // defines: cudaStream_t

#include <cstdint>

namespace mlcn::kernels {

void gemm_cuda(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float beta, float* C,
               cudaStream_t s);

// count column-major GEMMs in cuBLAS's own convention (no row-major mapping): C_i (m, n) =
// op(A_i) op(B_i) (+ C_i when beta = 1) with X_i = X + i * stride_x and leading dimensions ldx.
void gemm_cm_strided_batched_cuda(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda,
                                  int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta, float* C,
                                  int64_t ldc, int64_t stride_c, int64_t count, cudaStream_t s);

}  // namespace mlcn::kernels
