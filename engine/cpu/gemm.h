// Row-major GEMM on raw buffers through Eigen maps: C(M,N) = alpha*op(A)*op(B) + beta*C.
// op(X) is X or X^T. Eigen parallelises large products with OpenMP, using the calling
// thread's omp_get_max_threads(), so each CPU device (worker thread) controls its own width.
#pragma once
#include <Eigen/Core>
#include <cstdint>

namespace mlcn::cpu {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapC = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using Map = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;

// A: (M,K) or (K,M) when ta; B: (K,N) or (N,K) when tb; C: (M,N). beta is 0 or 1.
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* A, const T* B, T beta, T* C) {
  if (M == 0 || N == 0) return;
  Map<T> c(C, M, N, Eigen::OuterStride<>(N));
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

}  // namespace mlcn::cpu
