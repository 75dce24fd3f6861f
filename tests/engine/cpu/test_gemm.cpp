// The blocked multi-thread GEMM equals the single-block product for every transpose case,
// odd sizes, both split directions and beta 0/1.
#include <catch2/catch.hpp>

#include <omp.h>

#include "base/rng.h"
#include "engine/cpu/gemm.h"

using namespace mlcn;

TEST_CASE("gemm: thread blocks equal one block", "[gemm]") {
  Rng rng(5);
  struct Dims { int64_t M, N, K; };
  for (Dims d : {Dims{301, 67, 53}, Dims{45, 277, 61}}) {
    std::vector<double> A(d.M * d.K), B(d.K * d.N), C0(d.M * d.N), C1(d.M * d.N);
    for (double& v : A) v = rng.uniform(-1, 1);
    for (double& v : B) v = rng.uniform(-1, 1);
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (double beta : {0.0, 1.0}) {
          for (size_t i = 0; i < C0.size(); ++i) C0[i] = C1[i] = rng.uniform(-1, 1);
          cpu::gemm_block<double>(ta, tb, d.M, d.N, d.K, A.data(), ta ? d.M : d.K, B.data(), tb ? d.K : d.N, beta,
                                  C0.data(), d.N);
          omp_set_num_threads(3);
          cpu::gemm<double>(ta, tb, d.M, d.N, d.K, A.data(), B.data(), beta, C1.data());
          for (size_t i = 0; i < C0.size(); ++i) REQUIRE(C1[i] == Approx(C0[i]).epsilon(1e-12));
        }
  }
}
