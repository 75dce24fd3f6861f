// float32 GEMM through oneDNN's dnnl_sgemm (row-major, threaded by the calling thread's OpenMP
// width: measured 106 GFLOP/s on one core at 2048^3 where Eigen's kernel gave 81), and the
// library switch of library.h.
#include <dnnl.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "base/check.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/library.h"

namespace mlcn::cpu {
namespace {
std::atomic<int>& library_flag() {
  static std::atomic<int> flag{[] {
    const char* v = std::getenv("MLCN_CPU_KERNELS");
    return (v && std::strcmp(v, "reference") == 0) ? 0 : 1;
  }()};
  return flag;
}
}  // namespace

bool use_library() { return library_flag().load(std::memory_order_relaxed) != 0; }
void set_use_library(bool on) { library_flag().store(on ? 1 : 0); }

void sgemm_library(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float beta,
                   float* C) {
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  const dnnl_status_t st =
      dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, A, lda, B, ldb, beta, C, N);
  MLCN_CHECK(st == dnnl_success, "dnnl_sgemm failed (status " << static_cast<int>(st) << ") for " << M << "x" << N
                                                               << "x" << K);
}

}  // namespace mlcn::cpu
