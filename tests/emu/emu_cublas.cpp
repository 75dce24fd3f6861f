// The cuBLAS calls of the project (kernels/gemm.cu, kernels/cuda_context.cu), emulated: SGEMM
// and its strided-batched form from cuBLAS's documented column-major definition (C = alpha op(A) op(B) + beta C, element
// (i, j) of X at X[i + j ldx]) with a plain double-accumulating loop, so the test of gemm.cu
// checks its row-major mapping onto cuBLAS against an implementation written independently of
// that mapping; handles only remember their stream. TF32 is not modelled.
#include <cublas_v2.h>

#include "tests/emu/emu_internal.h"

struct cublasContext {
  cudaStream_t stream = nullptr;
};

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* h) {
  *h = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) {
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t, void*, size_t) { return CUBLAS_STATUS_SUCCESS; }

cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }

const char* cublasGetStatusString(cublasStatus_t s) {
  return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "emulated cuBLAS error";
}

}  // extern "C"

namespace {
// C (m, n) = alpha op(A) op(B) + beta C, column-major, accumulated in double; the caller checked
// the sizes.
void sgemm_cm(bool at, bool bt, int m, int n, int k, float al, const float* A, int lda, const float* B, int ldb, float be,
              float* C, int ldc) {
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const float a = at ? A[p + size_t(i) * lda] : A[i + size_t(p) * lda];
        const float b = bt ? B[j + size_t(p) * ldb] : B[p + size_t(j) * ldb];
        s += double(a) * b;
      }
      float& c = C[i + size_t(j) * ldc];
      c = float(al * s + (be == 0.f ? 0.0 : double(be) * c));
    }
}

// op(A) is (m, k): stored (m, k) with lda >= m, or transposed, stored (k, m) with lda >= k.
bool bad_sizes(bool at, bool bt, int m, int n, int k, int lda, int ldb, int ldc) {
  return m < 0 || n < 0 || k < 0 || lda < (at ? k : m) || ldb < (bt ? n : k) || ldc < m || lda < 1 || ldb < 1 ||
         ldc < 1;
}
}  // namespace

extern "C" {

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
  const bool at = ta != CUBLAS_OP_N, bt = tb != CUBLAS_OP_N;
  if (bad_sizes(at, bt, m, n, k, lda, ldb, ldc)) return CUBLAS_STATUS_INVALID_VALUE;
  const float al = *alpha, be = *beta;  // host pointer mode: read at the call
  mlcn_emu::submit(h->stream, mlcn_emu::Work::Library, [=] { sgemm_cm(at, bt, m, n, k, al, A, lda, B, ldb, be, C, ldc); });
  return CUBLAS_STATUS_SUCCESS;
}

// count GEMMs with X_i = X + i * stride_x, one library call.
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float* alpha, const float* A, int lda, long long int sa,
                                         const float* B, int ldb, long long int sb, const float* beta, float* C,
                                         int ldc, long long int sc, int count) {
  const bool at = ta != CUBLAS_OP_N, bt = tb != CUBLAS_OP_N;
  if (bad_sizes(at, bt, m, n, k, lda, ldb, ldc) || count < 0) return CUBLAS_STATUS_INVALID_VALUE;
  const float al = *alpha, be = *beta;
  mlcn_emu::submit(h->stream, mlcn_emu::Work::Library, [=] {
    for (int i = 0; i < count; ++i)
      sgemm_cm(at, bt, m, n, k, al, A + i * sa, lda, B + i * sb, ldb, be, C + i * sc, ldc);
  });
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
