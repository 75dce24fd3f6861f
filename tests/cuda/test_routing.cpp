// Dynamic routing on the GPU: every variant (fused, one-pass, unfused, split, cluster) and the Auto dispatch against
// the CPU twin, forward and full/stop-gradient backward, the J = 1 fast path, fused vs unfused
// agreement, the split variant at explicit slice counts (including more slices than
// capsules) against the CPU and the unfused result, and the cluster variant at explicit cluster
// sizes against split at the same slice count. Shapes include CapsNet's full 1152 x 10 x 16
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
#include "kernels/cuda_context.h"
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

// Random routing inputs for shape s: uhat in [-0.6, 0.6], dv and the initial duhat g0 in
// [-1, 1] (one seed each), and the CPU twin's forward v (full routing, no fast path).
struct Inputs {
  std::vector<float> uh, dv, g0, v;
};
Inputs inputs(const Shape4& s, uint64_t seed_uh, uint64_t seed_dv, uint64_t seed_g0) {
  Inputs in;
  in.uh = rand_vec(size_t(s.B * s.N * s.J * s.D), seed_uh, -0.6, 0.6);
  in.dv = rand_vec(size_t(s.B * s.J * s.D), seed_dv);
  in.g0 = rand_vec(in.uh.size(), seed_g0);
  in.v.resize(in.dv.size());
  cpu::routing_forward(in.v.data(), in.uh.data(), s.B, s.N, s.J, s.D, s.iters, false);
  return in;
}

const char* name(kernels::RoutingVariant v) {
  return v == kernels::RoutingVariant::Fused     ? "fused"
         : v == kernels::RoutingVariant::Unfused ? "unfused"
         : v == kernels::RoutingVariant::Split   ? "split"
         : v == kernels::RoutingVariant::OnePass ? "one-pass"
         : v == kernels::RoutingVariant::Cluster ? "cluster"
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
                         kernels::RoutingVariant::OnePass, kernels::RoutingVariant::Cluster,
                         kernels::RoutingVariant::Auto}) {
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
    const Inputs in = inputs(s, 141 + s.N, 142, 143);
    const auto &uh = in.uh, &dv = in.dv, &g0 = in.g0, &v = in.v;
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

TEST_CASE("cluster routing agrees with split at the same slice count", "[cuda][routing]") {
  if (!kernels::supports_clusters(0)) {
    WARN("device 0 cannot launch thread-block clusters: the cluster variant falls back to split; not compared");
    return;
  }
  // Every shape stages its uhat rows in shared memory but one: 576 rows of CapsNet's 160 floats
  // per block (368 KB) read uhat from device memory in every stage.
  const struct {
    Shape4 s;
    std::vector<int> clusters;
  } cases[] = {
      {{3, 37, 10, 16, 3}, {2, 3, 8}},  // uneven ranges
      {{2, 9, 3, 8, 3}, {4}},           // ranges of 3, 3, 3 and an empty one
      {{2, 1152, 10, 16, 3}, {8}},      // CapsNet: 144 capsules per block, staged (92 KB)
      {{1, 1152, 10, 16, 3}, {2}},      // CapsNet in clusters of 2: not staged
      {{1, 9, 70, 20, 2}, {2}},         // J*D > the block: the sequential weighted-sum path
      {{2, 6, 1, 5, 1}, {2}},           // J = 1 through the general loop, one iteration
  };
  for (const auto& k : cases) {
    const Shape4& s = k.s;
    const Inputs in = inputs(s, 151 + s.N, 152, 153);
    const auto &uh = in.uh, &dv = in.dv, &g0 = in.g0, &v = in.v;
    for (int P : k.clusters) {
      INFO("B=" << s.B << " N=" << s.N << " J=" << s.J << " D=" << s.D << ", clusters of " << P);
      REQUIRE(kernels::routing_cluster_fits(s.N, s.J, s.D, s.iters, P, true));
      for (bool backward : {false, true})
        CHECK(kernels::routing_cluster_stages(s.N, s.J, s.D, s.iters, P, backward) == (P > 2 || s.N < 1152));
      Guarded d_uh(uh), d_v(v.size()), d_split(v.size());
      kernels::routing_cluster_forward_cuda(d_v.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, P, nullptr);
      kernels::routing_unfused_forward_cuda(d_split.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, nullptr, P);
      const auto got = d_v.host();
      d_v.expect_guards_intact("cluster routing forward");
      expect_close(got, v, 1e-4, 1e-5, "cluster forward vs CPU");
      expect_close(got, d_split.host(), 1e-6, 1e-7, "cluster vs split forward");
      for (bool stop : {false, true}) {
        INFO("stop_grad " << stop);
        std::vector<float> g = g0;
        cpu::routing_backward(g.data(), dv.data(), uh.data(), s.B, s.N, s.J, s.D, s.iters, stop, false);
        Guarded d_dv(dv), d_g(g0), d_gs(g0);
        kernels::routing_cluster_backward_cuda(d_g.get(), d_dv.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, stop, P,
                                               nullptr);
        kernels::routing_unfused_backward_cuda(d_gs.get(), d_dv.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, stop,
                                               nullptr, P);
        const auto gg = d_g.host();
        d_g.expect_guards_intact("cluster routing backward");
        expect_close(gg, g, 1e-4, 1e-5 * std::sqrt(double(s.N)), "cluster backward vs CPU");
        expect_close(gg, d_gs.host(), 1e-6, 1e-7, "cluster vs split backward");
      }
    }
  }
  SECTION("cluster sizes the variant cannot take are refused") {
    const Shape4 s{1, 9, 3, 8, 2};
    Guarded d_uh(rand_vec(size_t(s.N * s.J * s.D), 154)), d_v(size_t(s.J * s.D));
    for (int P : {1, 9, 10})  // one block, more than CUDA's portable 8, more blocks than capsules
      REQUIRE_THROWS(kernels::routing_cluster_forward_cuda(d_v.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, P,
                                                           nullptr));
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
                       kernels::RoutingVariant::OnePass, kernels::RoutingVariant::Cluster,
                       kernels::RoutingVariant::Auto}) {
    cuda().set_routing_variant(variant);
    Guarded d_uh(uh), d_v(v.size());
    cuda().routing_forward(kS0, d_v.get(), d_uh.get(), s.B, s.N, s.J, s.D, s.iters, true);
    expect_close(d_v.host(), v, 1e-4, 1e-5, name(variant));
  }
  cuda().set_routing_variant(kernels::RoutingVariant::Auto);
}
