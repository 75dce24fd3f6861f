// Dynamic routing on the GPU: every variant (fused, one-pass, unfused, split) and the Auto dispatch against
// the CPU twin, forward and full/stop-gradient backward, the J = 1 fast path, fused vs unfused
// agreement, and the split variant at explicit slice counts (including more slices than
// capsules) against the CPU and the unfused result. Shapes include CapsNet's full 1152 x 10 x 16
// and ones that are not round numbers.
// Tolerances: vs the CPU, rtol 1e-4 and atol 1e-5 (forward) or 1e-5 sqrt(N) (backward): the sums
// over N capsules run in another order, and the iterations compound the rounding.
// Fused vs unfused (and one-pass vs fused): the same stage functions (or the same arithmetic in
// the same order) with the same block size, so the results are expected to be identical; the
// test allows 1e-6 relative in case the compiler contracts the inlined stages differently.
#include <cmath>
#include <vector>

#include "cuda_test_util.h"
#include "engine/cpu/capsule.h"
#include "engine/core/backend.h"
#include "kernels/routing.cuh"

using namespace mlcn;
using namespace mlcn::test;

namespace {

struct Shape4 {
  int64_t B, N, J, D;
  int iters;
};

std::vector<float> gpu_forward(const Shape4& s, const std::vector<float>& uh, kernels::RoutingVariant variant,
                               bool fast) {
  Guarded d_uh(uh), d_v(size_t(s.B * s.J * s.D));
  kernels::routing_forward_cuda(d_v.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, fast, variant, nullptr);
  d_v.expect_guards_intact("routing forward");
  return d_v.host();
}

std::vector<float> gpu_backward(const Shape4& s, const std::vector<float>& uh, const std::vector<float>& dv,
                                const std::vector<float>& g0, kernels::RoutingVariant variant, bool stop_grad,
                                bool fast) {
  Guarded d_uh(uh), d_dv(dv), d_g(g0);
  kernels::routing_backward_cuda(d_g.get(), d_dv.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, stop_grad, fast, variant,
                              nullptr);
  d_g.expect_guards_intact("routing backward");
  return d_g.host();
}

const char* name(kernels::RoutingVariant v) {
  return v == kernels::RoutingVariant::Fused     ? "fused"
         : v == kernels::RoutingVariant::Unfused ? "unfused"
         : v == kernels::RoutingVariant::Split   ? "split"
         : v == kernels::RoutingVariant::OnePass ? "one-pass"
                                                 : "auto";
}

}  // namespace

TEST_CASE("routing forward and backward match the CPU twin in every variant", "[cuda][routing]") {
  const Shape4 shapes[] = {
      {3, 37, 10, 16, 3},    // CapsNet J, D; N not a round number
      {2, 1152, 10, 16, 3},  // CapsNet's real sizes (the fused backward needs ~189 KB of shared memory)
      {2, 7, 4, 3, 2},
      {3, 6, 1, 5, 3},  // J = 1 through the general loop
      {2, 5, 3, 40, 2},  // D > 32: more elements than lanes in the dot products
      {1, 9, 70, 20, 2},  // J*D > the block: the sequential weighted-sum path
      {2, 13, 3, 8, 3},   // one-pass groups of 24 threads: a warp shared by two groups and idle lanes
      {2, 11, 7, 1, 2},   // D = 1: one-pass without shuffles
  };
  for (const Shape4& s : shapes) {
    const auto uh = rand_vec(size_t(s.B * s.N * s.J * s.D), 101 + s.N, -0.6, 0.6);
    const auto dv = rand_vec(size_t(s.B * s.J * s.D), 102), g0 = rand_vec(uh.size(), 103);
    std::vector<float> v(dv.size());
    cpu::routing_forward(v.data(), uh.data(), s.B, s.N, s.J, s.D, s.iters, false);
    for (auto variant : {kernels::RoutingVariant::Fused, kernels::RoutingVariant::Unfused, kernels::RoutingVariant::Split,
                         kernels::RoutingVariant::OnePass, kernels::RoutingVariant::Auto}) {
      const bool fits = kernels::routing_fused_fits(s.N, s.J, s.D, s.iters, true, 0);
      if ((variant == kernels::RoutingVariant::Fused || variant == kernels::RoutingVariant::OnePass) && !fits) {
        WARN("fused backward does not fit this device for N=" << s.N << "; checking that it refuses");
        REQUIRE_THROWS(gpu_backward(s, uh, dv, g0, variant, false, false));
        continue;
      }
      INFO("B=" << s.B << " N=" << s.N << " J=" << s.J << " D=" << s.D << " iters=" << s.iters << " " << name(variant));
      expect_close(gpu_forward(s, uh, variant, false), v, 1e-4, 1e-5, "routing forward");
      for (bool stop : {false, true}) {
        INFO("stop_grad " << stop);
        std::vector<float> g = g0;
        cpu::routing_backward(g.data(), dv.data(), uh.data(), s.B, s.N, s.J, s.D, s.iters, stop, false);
        expect_close(gpu_backward(s, uh, dv, g0, variant, stop, false), g, 1e-4, 1e-5 * std::sqrt(double(s.N)),
                     "routing backward");
      }
    }
  }
}

TEST_CASE("fused, one-pass and unfused routing agree", "[cuda][routing]") {
  const Shape4 s{4, 1152, 10, 16, 3};
  const auto uh = rand_vec(size_t(s.B * s.N * s.J * s.D), 111, -0.6, 0.6);
  const auto dv = rand_vec(size_t(s.B * s.J * s.D), 112), g0 = rand_vec(uh.size(), 113);
  REQUIRE(kernels::routing_fused_fits(s.N, s.J, s.D, s.iters, false, 0));
  expect_close(gpu_forward(s, uh, kernels::RoutingVariant::Fused, false),
               gpu_forward(s, uh, kernels::RoutingVariant::Unfused, false), 1e-6, 1e-7, "fused vs unfused forward");
  expect_close(gpu_forward(s, uh, kernels::RoutingVariant::OnePass, false),
               gpu_forward(s, uh, kernels::RoutingVariant::Fused, false), 1e-6, 1e-7, "one-pass vs fused forward");
  if (!kernels::routing_fused_fits(s.N, s.J, s.D, s.iters, true, 0)) {
    WARN("the fused backward does not fit this device's shared memory; only the forward was compared");
    return;
  }
  for (bool stop : {false, true})
    expect_close(gpu_backward(s, uh, dv, g0, kernels::RoutingVariant::Fused, stop, false),
                 gpu_backward(s, uh, dv, g0, kernels::RoutingVariant::Unfused, stop, false), 1e-6, 1e-7,
                 stop ? "fused vs unfused backward (stop_grad)" : "fused vs unfused backward");
}

TEST_CASE("split routing matches the CPU twin and the unfused variant at every slice count", "[cuda][routing]") {
  const struct {
    Shape4 s;
    std::vector<int> slices;
  } cases[] = {
      {{3, 37, 10, 16, 3}, {2, 3, 7, 37, 40}},  // uneven ranges, one capsule per slice, more slices than capsules
      {{2, 130, 10, 8, 3}, {4}},
      {{1, 9, 70, 20, 2}, {2}},  // J*D > the block: the sequential weighted-sum path in each slice
      {{3, 6, 1, 5, 3}, {2}},    // J = 1 through the general loop
  };
  for (const auto& k : cases) {
    const Shape4& s = k.s;
    const auto uh = rand_vec(size_t(s.B * s.N * s.J * s.D), 141 + s.N, -0.6, 0.6);
    const auto dv = rand_vec(size_t(s.B * s.J * s.D), 142), g0 = rand_vec(uh.size(), 143);
    std::vector<float> v(dv.size());
    cpu::routing_forward(v.data(), uh.data(), s.B, s.N, s.J, s.D, s.iters, false);
    const auto v1 = gpu_forward(s, uh, kernels::RoutingVariant::Unfused, false);
    for (int slices : k.slices) {
      INFO("B=" << s.B << " N=" << s.N << " J=" << s.J << " D=" << s.D << ", " << slices << " slices");
      Guarded d_uh(uh), d_v(v.size());
      kernels::routing_unfused_forward_cuda(d_v.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, nullptr, slices);
      const auto got = d_v.host();
      d_v.expect_guards_intact("split routing forward");
      expect_close(got, v, 1e-4, 1e-5, "split forward vs CPU");
      expect_close(got, v1, 1e-5, 1e-6, "split forward vs one slice");
      for (bool stop : {false, true}) {
        INFO("stop_grad " << stop);
        std::vector<float> g = g0;
        cpu::routing_backward(g.data(), dv.data(), uh.data(), s.B, s.N, s.J, s.D, s.iters, stop, false);
        Guarded d_dv(dv), d_g(g0);
        kernels::routing_unfused_backward_cuda(d_g.get(), d_dv.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, stop,
                                               nullptr, slices);
        expect_close(d_g.host(), g, 1e-4, 1e-5 * std::sqrt(double(s.N)), "split backward vs CPU");
        d_g.expect_guards_intact("split routing backward");
      }
    }
  }
}

TEST_CASE("routing J=1 fast path matches the CPU fast path and the general loop", "[cuda][routing]") {
  const Shape4 s{5, 130, 1, 10, 3};  // an MLCN lane's capsule layer without fast_caps
  const auto uh = rand_vec(size_t(s.B * s.N * s.D), 121, -0.3, 0.3);
  const auto dv = rand_vec(size_t(s.B * s.D), 122), g0 = rand_vec(uh.size(), 123);
  std::vector<float> v(dv.size()), g = g0;
  cpu::routing_forward(v.data(), uh.data(), s.B, s.N, s.J, s.D, s.iters, true);
  cpu::routing_backward(g.data(), dv.data(), uh.data(), s.B, s.N, s.J, s.D, s.iters, false, true);
  const auto v_fast = gpu_forward(s, uh, kernels::RoutingVariant::Auto, true);
  expect_close(v_fast, v, 1e-5, 1e-6, "J=1 fast forward");
  expect_close(gpu_backward(s, uh, dv, g0, kernels::RoutingVariant::Auto, false, true), g, 1e-5, 1e-5,
               "J=1 fast backward");
  expect_close(gpu_forward(s, uh, kernels::RoutingVariant::Fused, false), v_fast, 1e-6, 1e-7,
               "J=1 general loop vs fast path");
}

TEST_CASE("the backend table's routing entries use the selected variant", "[cuda][routing]") {
  const Shape4 s{2, 11, 3, 4, 3};
  const auto uh = rand_vec(size_t(s.B * s.N * s.J * s.D), 131, -0.6, 0.6);
  std::vector<float> v(size_t(s.B * s.J * s.D));
  cpu::routing_forward(v.data(), uh.data(), s.B, s.N, s.J, s.D, s.iters, true);
  for (auto variant : {kernels::RoutingVariant::Unfused, kernels::RoutingVariant::Fused, kernels::RoutingVariant::Split,
                       kernels::RoutingVariant::OnePass, kernels::RoutingVariant::Auto}) {
    cuda().set_routing_variant(variant);
    Guarded d_uh(uh), d_v(v.size());
    cuda().routing_forward(kS0, d_v.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, true);
    expect_close(d_v.host(), v, 1e-4, 1e-5, name(variant));
  }
  cuda().set_routing_variant(kernels::RoutingVariant::Auto);
}
