// The two cuBLAS calls of kernels/gemm.cu, emulated from cuBLAS's documented column-major
// definition (C = alpha op(A) op(B) + beta C, element (i, j) of X at X[i + j ldx]) with a plain
// double-accumulating loop, so the test of gemm.cu checks its row-major mapping onto cuBLAS
// against an implementation written independently of that mapping. TF32 is not modelled.
#include <cublas_v2.h>

extern "C" {

cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }

const char* cublasGetStatusString(cublasStatus_t s) {
  return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "emulated cuBLAS error";
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
  const bool at = ta != CUBLAS_OP_N, bt = tb != CUBLAS_OP_N;
  // op(A) is (m, k): stored (m, k) with lda >= m, or transposed, stored (k, m) with lda >= k.
  if (m < 0 || n < 0 || k < 0 || lda < (at ? k : m) || ldb < (bt ? n : k) || ldc < m || lda < 1 || ldb < 1 ||
      ldc < 1)
    return CUBLAS_STATUS_INVALID_VALUE;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const float a = at ? A[p + size_t(i) * lda] : A[i + size_t(p) * lda];
        const float b = bt ? B[j + size_t(p) * ldb] : B[p + size_t(j) * ldb];
        s += double(a) * b;
      }
      float& c = C[i + size_t(j) * ldc];
      c = float(*alpha * s + (*beta == 0.f ? 0.0 : double(*beta) * c));
    }
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
