// Row-major GEMM through column-major cuBLAS: a row-major (M, N) matrix is the column-major
// (N, M) matrix of its transpose, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T by
// passing B first. TF32 tensor-core math only when set_allow_tf32(true); otherwise cuBLAS's
// default float32 math (no TF32 unless NVIDIA_TF32_OVERRIDE forces it). Also the column-major
// strided-batched form the prediction transform's Blas variant uses.
#include "kernels/cuda_context.h"

#include "kernels/gemm.cuh"

namespace mlcn::kernels {

void gemm_cuda(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float beta, float* C,
               cudaStream_t s) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {  // an empty sum: C = 0, or C unchanged when accumulating
    if (beta == 0.f) MLCN_CUDA_CHECK(cudaMemsetAsync(C, 0, size_t(M * N) * sizeof(float), s));
    return;
  }
  constexpr int64_t kMax = (int64_t(1) << 31) - 1;
  MLCN_CHECK(M <= kMax && N <= kMax && K <= kMax, "gemm: dimensions " << M << "x" << N << "x" << K << " exceed int");
  cublasHandle_t h = cublas_handle(s);
  MLCN_CUBLAS_CHECK(cublasSetMathMode(h, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  const float one = 1.f;
  const int lda = int(ta ? M : K), ldb = int(tb ? K : N);
  MLCN_CUBLAS_CHECK(cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, int(N), int(M),
                                int(K), &one, B, ldb, A, lda, &beta, C, int(N)));
}

void gemm_cm_strided_batched_cuda(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda,
                                  int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta, float* C,
                                  int64_t ldc, int64_t stride_c, int64_t count, cudaStream_t s) {
  if (m <= 0 || n <= 0 || count <= 0) return;
  constexpr int64_t kMax = (int64_t(1) << 31) - 1;
  MLCN_CHECK(m <= kMax && n <= kMax && k <= kMax && lda <= kMax && ldb <= kMax && ldc <= kMax && count <= kMax,
             "batched gemm: dimensions " << m << "x" << n << "x" << k << " (x" << count << ") exceed int");
  MLCN_CHECK(k > 0, "batched gemm: empty sum");
  cublasHandle_t h = cublas_handle(s);
  MLCN_CUBLAS_CHECK(cublasSetMathMode(h, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  const float one = 1.f;
  MLCN_CUBLAS_CHECK(cublasSgemmStridedBatched(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, int(m),
                                              int(n), int(k), &one, A, int(lda), stride_a, B, int(ldb), stride_b, &beta,
                                              C, int(ldc), stride_c, int(count)));
}

}  // namespace mlcn::kernels
