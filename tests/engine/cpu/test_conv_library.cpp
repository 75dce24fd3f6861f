// The library paths of the CPU backend against their readable twins: oneDNN's convolutions
// (conv_dnnl.h) in every direction the rule sends to it and the polyphase Winograd form of the
// stride-2 6x6 convs (conv_winograd.h, F(4x4, 3x3): float32 error up to about 1e-5 of the
// values' scale, so its tolerance is 1e-4 where direct kernels get 1e-5), with the fused ReLU and accumulation
// into gradients that already hold values, against the im2col twin in float64; oneDNN's float32
// GEMM against the twin in float64; and a whole float32 training step with the library paths on
// and off (the same loss and gradients to float32 rounding).
#include <catch2/catch.hpp>

#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/rng.h"
#include "engine/cpu/conv.h"
#include "engine/cpu/conv_dnnl.h"
#include "engine/cpu/conv_winograd.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/library.h"
#include "engine/runtime/lane_runtime.h"

using namespace mlcn;
namespace dc = mlcn::cpu::dnnl_conv;

namespace {

std::vector<double> random_vec(size_t n, Rng& r) {
  std::vector<double> v(n);
  for (double& x : v) x = r.uniform(-1, 1);
  return v;
}
std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// Every element of got within tol * (1 + |want|) of want.
void require_close(const std::vector<float>& got, const std::vector<double>& want, double tol, const char* what) {
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]) / (1 + std::abs(want[i])));
  INFO(what << ": worst relative error " << worst);
  REQUIRE(worst < tol);
}

struct Case {
  int64_t B, H, W, C, K, k, stride;
  bool same;
};

}  // namespace

TEST_CASE("oneDNN convolutions equal the im2col twin in every direction the rule gives them", "[conv][library]") {
  namespace wg = mlcn::cpu::winograd;
  cpu::set_use_library(true);
  Rng rng(17);
  // 1-channel 9x9 (first and deep-level convs), the mlcn1 primary (stride 2, 6x6), 3x3 same
  // (mlcn2), 1x1 pointwise, and a stride that leaves input rows unused (negative right padding).
  // Winograd: the mlcn1 primary convs of width 4 and 2 (64 -> 128, 32 -> 64 channels), a small one.
  const Case cases[] = {{3, 28, 28, 1, 16, 9, 1, false}, {2, 20, 20, 8, 16, 6, 2, false}, {2, 9, 9, 6, 8, 3, 1, true},
                        {3, 7, 7, 5, 12, 1, 1, false},   {2, 21, 16, 4, 8, 6, 3, false},  {2, 40, 16, 1, 8, 9, 1, false},
                        {2, 20, 20, 64, 128, 6, 2, false}, {3, 20, 20, 32, 64, 6, 2, false}, {2, 14, 12, 4, 16, 6, 2, false}};
  for (const Case& c : cases)
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      const ConvShape s = make_conv_shape(c.B, c.H, c.W, c.C, c.K, c.k, c.k, c.stride, c.same);
      INFO("in " << c.H << "x" << c.W << "x" << c.C << ", " << c.K << " filters " << c.k << "x" << c.k << " stride "
                 << c.stride << ", " << threads << " thread(s)");
      const size_t n_in = s.B * s.H * s.W * s.C, n_w = s.K * s.kh * s.kw * s.C, n_out = s.B * s.OH * s.OW * s.K;
      const auto in = random_vec(n_in, rng), w = random_vec(n_w, rng), b = random_vec(s.K, rng);
      const auto dout = random_vec(n_out, rng);
      const auto din0 = random_vec(n_in, rng), dw0 = random_vec(n_w, rng), db0 = random_vec(s.K, rng);

      std::vector<double> out(n_out), din = din0, dw = dw0, db = db0;
      cpu::conv2d_forward<double>(out.data(), in.data(), w.data(), b.data(), s);
      cpu::conv2d_backward<double>(din.data(), dw.data(), db.data(), dout.data(), in.data(), w.data(), s);

      const auto inf = to_float(in), wf = to_float(w), bf = to_float(b), doutf = to_float(dout);
      // Winograd needs oneDNN's AVX-512 kernels: on AVX2 (engine.library_avx2) it declines and the
      // direct rule below decides; on AVX-512 it must take every qualifying shape.
      const bool wino = wg::applies(s) && std::string(dc::isa()).rfind("avx512", 0) == 0;
      // Sums over more than 1,000 products (2,304 in the primary convs) drift further in float32.
      const bool long_sums = wino || s.kh * s.kw * s.C > 1000;
      const double tol = long_sums ? 1e-4 : 1e-5, gtol = long_sums ? 3e-4 : 1e-4;
      if (wino || dc::prefer(s, dc::Direction::Forward)) {
        for (bool relu : {false, true}) {
          std::vector<float> o(n_out, 7.f);
          REQUIRE((wino ? wg::forward(o.data(), inf.data(), wf.data(), bf.data(), relu, s)
                        : dc::forward(o.data(), inf.data(), wf.data(), bf.data(), relu, s)));
          std::vector<double> want = out;
          if (relu)
            for (double& v : want) v = std::max(v, 0.0);
          require_close(o, want, tol, relu ? "forward + bias + ReLU" : "forward + bias");
        }
        std::vector<float> o(n_out);
        REQUIRE((wino ? wg::forward(o.data(), inf.data(), wf.data(), nullptr, false, s)
                      : dc::forward(o.data(), inf.data(), wf.data(), nullptr, false, s)));
        std::vector<double> want(n_out);
        cpu::conv2d_forward<double>(want.data(), in.data(), w.data(), nullptr, s);
        require_close(o, want, tol, "forward without bias");
      }
      if (wino || dc::prefer(s, dc::Direction::BackwardWeights)) {
        std::vector<float> gw = to_float(dw0), gb = to_float(db0);
        REQUIRE((wino ? wg::backward_weights(gw.data(), gb.data(), doutf.data(), inf.data(), s)
                      : dc::backward_weights(gw.data(), gb.data(), doutf.data(), inf.data(), s)));
        require_close(gw, dw, gtol, "filter gradient added to the old values");
        require_close(gb, db, gtol, "bias gradient added to the old values");
      }
      if (wino || dc::prefer(s, dc::Direction::BackwardData)) {
        std::vector<float> gx = to_float(din0);
        REQUIRE((wino ? wg::backward_data(gx.data(), doutf.data(), wf.data(), s)
                      : dc::backward_data(gx.data(), doutf.data(), wf.data(), s)));
        require_close(gx, din, gtol, "input gradient added to the old values");
      }
      // The twin's float32 backward with the library GEMM, in the split the op layer uses.
      std::vector<float> gx = to_float(din0), gw = to_float(dw0), gb = to_float(db0);
      cpu::conv2d_backward<float>(gx.data(), nullptr, nullptr, doutf.data(), inf.data(), wf.data(), s);
      cpu::conv2d_backward<float>(nullptr, gw.data(), gb.data(), doutf.data(), inf.data(), wf.data(), s);
      require_close(gx, din, 1e-4, "twin input gradient alone");
      require_close(gw, dw, 1e-4, "twin filter gradient alone");
      require_close(gb, db, 1e-4, "twin bias gradient alone");
    }
  omp_set_num_threads(1);
}

TEST_CASE("the conv rule sends each direction where it was measured faster", "[conv][library]") {
  cpu::set_use_library(true);
  using D = dc::Direction;
  const ConvShape first = make_conv_shape(100, 28, 28, 1, 64, 9, 9, 1, false);     // mlcn1 w4 conv1
  const ConvShape primary = make_conv_shape(100, 20, 20, 64, 128, 6, 6, 2, false);  // mlcn1 w4 primary
  const ConvShape deep = make_conv_shape(100, 408, 8, 32, 64, 6, 6, 3, false);      // OW = 1
  const ConvShape caps = make_conv_shape(100, 20, 20, 256, 256, 9, 9, 2, false);    // CapsNet primary
  CHECK(dc::prefer(first, D::Forward));
  CHECK(dc::prefer(first, D::BackwardWeights));
  CHECK(!dc::prefer(first, D::BackwardData));
  CHECK(dc::prefer(primary, D::Forward));
  CHECK(!dc::prefer(primary, D::BackwardWeights));
  CHECK(dc::prefer(primary, D::BackwardData));
  for (D d : {D::Forward, D::BackwardWeights, D::BackwardData}) {
    CHECK(!dc::prefer(deep, d));
    CHECK(!dc::prefer(caps, d));
  }
  cpu::set_use_library(false);
  CHECK(!dc::prefer(first, D::Forward));
  std::vector<float> x(28 * 28), w(64 * 81), o(20 * 20 * 64);
  CHECK(!dc::forward(o.data(), x.data(), w.data(), nullptr, false, make_conv_shape(1, 28, 28, 1, 64, 9, 9, 1, false)));
  cpu::set_use_library(true);
}

TEST_CASE("the library runs on the instruction set it was capped to", "[conv][library]") {
  // ctest's engine.library_avx2 reruns every [library] case with DNNL_MAX_CPU_ISA=AVX2, the
  // kernels a machine without AVX-512 gets; this case makes sure the cap took effect there.
  const std::string isa = dc::isa();
  INFO("oneDNN ISA: " << isa);
  const char* cap = std::getenv("DNNL_MAX_CPU_ISA");
  if (cap && std::string(cap) == "AVX2") CHECK(isa.rfind("avx2", 0) == 0);
  else CHECK(!isa.empty());  // a newer instruction set than this list knows is "other"
}

TEST_CASE("repeated convolutions of one shape create their primitives once", "[conv][library]") {
  cpu::set_use_library(true);
  omp_set_num_threads(1);
  const ConvShape s = make_conv_shape(2, 12, 12, 1, 8, 5, 5, 1, false);
  std::vector<float> in(2 * 144, 0.5f), w(8 * 25, 0.1f), out(2 * 8 * 8 * 8), dout(out.size(), 1.f), dw(w.size());
  REQUIRE(dc::forward(out.data(), in.data(), w.data(), nullptr, true, s));
  REQUIRE(dc::backward_weights(dw.data(), nullptr, dout.data(), in.data(), s));
  const long made = dc::primitives_created();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(dc::forward(out.data(), in.data(), w.data(), nullptr, true, s));
    REQUIRE(dc::backward_weights(dw.data(), nullptr, dout.data(), in.data(), s));
  }
  CHECK(dc::primitives_created() == made);
}

TEST_CASE("oneDNN's float32 GEMM equals the twin in float64 for every transpose and beta", "[gemm][library]") {
  cpu::set_use_library(true);
  Rng rng(9);
  struct Dims { int64_t M, N, K; };
  for (Dims d : {Dims{301, 67, 53}, Dims{45, 277, 61}, Dims{7, 5, 0}})
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (double beta : {0.0, 1.0}) {
          const auto A = random_vec(d.M * d.K, rng), B = random_vec(d.K * d.N, rng), C0 = random_vec(d.M * d.N, rng);
          std::vector<double> want = C0;
          cpu::gemm_block<double>(ta, tb, d.M, d.N, d.K, A.data(), ta ? d.M : d.K, B.data(), tb ? d.K : d.N, beta,
                                  want.data(), d.N);
          std::vector<float> got = to_float(C0);
          cpu::gemm<float>(ta, tb, d.M, d.N, d.K, to_float(A).data(), to_float(B).data(), float(beta), got.data());
          INFO(d.M << "x" << d.N << "x" << d.K << " ta " << ta << " tb " << tb << " beta " << beta);
          require_close(got, want, 1e-5, "sgemm");
        }
}

TEST_CASE("a float32 training step with the library paths equals the twins' step", "[conv][library]") {
  ModelSpec spec;
  spec.input = {28, 28, 1, 10};
  spec.lanes = {{"mlcn1", 2, 2}, {"mlcn2", 1, 1}};
  Rng r(3);
  Tensor x = Tensor::empty({4, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, r.uniform());
  const std::vector<int32_t> labels{1, 7, 3, 0};
  auto run = [&](bool library, Model& m) {
    cpu::set_use_library(library);
    m.init(5);
    LaneRuntime rt(m, {1, 2, {}, 0, {}});
    return rt.step(x, labels, StepMode::Grad, 0, nullptr).loss;
  };
  Model a(spec), b(spec);
  const double la = run(true, a), lb = run(false, b);
  cpu::set_use_library(true);
  CHECK(la == Approx(lb).epsilon(1e-5));
  auto pa = a.all_params(), pb = b.all_params();
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i]->name);
    const Tensor& ga = pa[i]->var->grad;
    const Tensor& gb = pb[i]->var->grad;
    double scale = 0, worst = 0;
    for (int64_t k = 0; k < gb.numel(); ++k) scale = std::max(scale, std::abs(gb.item(k)));
    for (int64_t k = 0; k < gb.numel(); ++k) worst = std::max(worst, std::abs(ga.item(k) - gb.item(k)));
    REQUIRE(worst <= 1e-4 * scale + 1e-7);
  }
}
