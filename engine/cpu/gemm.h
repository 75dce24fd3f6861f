// Row-major GEMM on raw buffers through Eigen maps: C(M,N) = op(A)*op(B) + beta*C.
// op(X) is X or X^T. Eigen's own OpenMP GEMM busy-waits between packed panels, which measured
// 60% of a step in spin loops on 2 cores (perf, 2026-11-26), so Eigen runs single-threaded
// (EIGEN_DONT_PARALLELIZE, set for the engine target) and we split the larger output dimension
// into one block per thread of the calling worker (omp_get_max_threads()).
#pragma once
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

namespace mlcn::cpu {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapC = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using Map = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;

// One thread's product; same arguments as gemm().
template <class T>
void gemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  Map<T> c(C, M, N, Eigen::OuterStride<>(ldc));
  if (K == 0) {
    if (beta == T(0)) c.setZero();
    return;
  }
  MapC<T> a(A, ta ? K : M, ta ? M : K, Eigen::OuterStride<>(ta ? M : K));
  MapC<T> b(B, tb ? N : K, tb ? K : N, Eigen::OuterStride<>(tb ? K : N));
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (beta == T(0)) c.noalias() = lhs * rhs;
    else c.noalias() += lhs * rhs;
  };
  if (!ta && !tb) run(a, b);
  else if (ta && !tb) run(a.transpose(), b);
  else if (!ta && tb) run(a, b.transpose());
  else run(a.transpose(), b.transpose());
}


// A: (M,K) or (K,M) when ta; B: (K,N) or (N,K) when tb; C: (M,N). beta is 0 or 1.
// Rows of C need rows of op(A) (A + r*K, or column r of A^T = A + r); columns likewise for B.
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T beta, T* C) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || M * N * K < (int64_t(1) << 18)) {
    gemm_serial(ta, tb, M, N, K, A, B, beta, C, N);
    return;
  }
  const bool split_rows = M >= N;
  const int64_t extent = split_rows ? M : N;
  const int64_t align = 16;
  const int64_t block = ((extent + threads - 1) / threads + align - 1) / align * align;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    const int64_t lo = std::min<int64_t>(extent, t * block), hi = std::min<int64_t>(extent, lo + block);
    if (lo >= hi) continue;
    // Sub-blocks: rows [lo, hi) of op(A) with all of op(B), or all of op(A) with columns [lo, hi) of op(B).
    const int64_t m = split_rows ? hi - lo : M, n = split_rows ? N : hi - lo;
    const T* a = !split_rows ? A : (ta ? A + lo : A + lo * K);
    const T* b = split_rows ? B : (tb ? B + lo * K : B + lo);
    Map<T> c(split_rows ? C + lo * N : C + lo, m, n, Eigen::OuterStride<>(N));
    MapC<T> am(a, ta ? K : m, ta ? m : K, Eigen::OuterStride<>(ta ? M : K));
    MapC<T> bm(b, tb ? n : K, tb ? K : n, Eigen::OuterStride<>(tb ? K : N));
    auto run = [&](const auto& lhs, const auto& rhs) {
      if (beta == T(0)) c.noalias() = lhs * rhs;
      else c.noalias() += lhs * rhs;
    };
    if (!ta && !tb) run(am, bm);
    else if (ta && !tb) run(am.transpose(), bm);
    else if (!ta && tb) run(am, bm.transpose());
    else run(am.transpose(), bm.transpose());
  }
}

}  // namespace mlcn::cpu
