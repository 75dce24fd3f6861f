// Row-major GEMM on raw buffers through Eigen maps: C(M,N) = op(A)*op(B) + beta*C.
// op(X) is X or X^T. Eigen's own OpenMP GEMM busy-waits between packed panels, which measured
// 60% of a step in spin loops on 2 cores (perf, 2026-11-26), so Eigen runs single-threaded
// (EIGEN_DONT_PARALLELIZE, set for the engine target) and we split the larger output dimension
// into one block per thread of the calling worker (omp_get_max_threads()). That is the readable
// twin; float32 products go to oneDNN's GEMM instead (gemm_dnnl.cpp) unless the library paths
// are off (library.h).
#pragma once
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "engine/cpu/library.h"

namespace mlcn::cpu {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapC = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using Map = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;

// One thread's product on strided operands: C (m, n; row stride ldc) = op(A) op(B) [+ C],
// with A stored (m, k) or (k, m) when ta, row stride lda; B (k, n) or (n, k) when tb, stride ldb.
template <class T>
void gemm_block(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* A, int64_t lda, const T* B,
                int64_t ldb, T beta, T* C, int64_t ldc) {
  if (m == 0 || n == 0) return;
  Map<T> c(C, m, n, Eigen::OuterStride<>(ldc));
  if (k == 0) {
    if (beta == T(0)) c.setZero();
    return;
  }
  MapC<T> a(A, ta ? k : m, ta ? m : k, Eigen::OuterStride<>(lda));
  MapC<T> b(B, tb ? n : k, tb ? k : n, Eigen::OuterStride<>(ldb));
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (beta == T(0)) c.noalias() = lhs * rhs;
    else c.noalias() += lhs * rhs;
  };
  if (!ta && !tb) run(a, b);
  else if (ta && !tb) run(a.transpose(), b);
  else if (!ta && tb) run(a, b.transpose());
  else run(a.transpose(), b.transpose());
}

// C (M, N) = op(A) op(B) + beta C by oneDNN's dnnl_sgemm on the calling thread's OpenMP width.
void sgemm_library(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float beta,
                   float* C);

// A: (M,K) or (K,M) when ta; B: (K,N) or (N,K) when tb; C: (M,N). beta is 0 or 1.
// The larger output dimension is cut into one block per thread (rows of op(A) or columns of op(B)).
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T beta, T* C) {
  if constexpr (std::is_same_v<T, float>) {
    if (use_library() && M > 0 && N > 0) {
      if (K == 0) {
        if (beta == 0.f) std::fill(C, C + M * N, 0.f);
        return;
      }
      sgemm_library(ta, tb, M, N, K, A, B, beta, C);
      return;
    }
  }
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || M * N * K < (int64_t(1) << 18)) {
    gemm_block(ta, tb, M, N, K, A, lda, B, ldb, beta, C, N);
    return;
  }
  const bool split_rows = M >= N;
  const int64_t extent = split_rows ? M : N;
  const int64_t block = ((extent + threads - 1) / threads + 15) / 16 * 16;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    const int64_t lo = std::min<int64_t>(extent, t * block), hi = std::min<int64_t>(extent, lo + block);
    if (lo >= hi) continue;
    if (split_rows)
      gemm_block(ta, tb, hi - lo, N, K, ta ? A + lo : A + lo * K, lda, B, ldb, beta, C + lo * N, N);
    else
      gemm_block(ta, tb, M, hi - lo, K, A, lda, tb ? B + lo * K : B + lo, ldb, beta, C + lo, N);
  }
}

}  // namespace mlcn::cpu
