// CUDA vs CPU with NaN and Inf inputs: every kernel whose CPU twin propagates a non-finite value
// must propagate it the same way (a NaN where the CPU has NaN, the same infinity where it has
// one), so a diverged model is never hidden by a clamp such as fmaxf(0, NaN) = 0. Finite
// elements keep the tolerances of the op's own parity test. ReLU and the margin loss are the
// kernels that once turned NaN into 0; squash, routing (its softmax), length, sigmoid and the
// MSE loss are checked too. Also the non-finite count of the training guard (count_non_finite)
// against its CPU twin, and the guard itself on a model placed on two GPUs.
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "engine/cpu/capsule.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/loss.h"
#include "engine/core/backend.h"
#include "engine/models/model.h"
#include "engine/optim/adam.h"
#include "engine/train/finite_guard.h"

using namespace mlcn;
using namespace mlcn::test;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

// Same as `expected` element by element: NaN where it is NaN, the same infinity where it is
// infinite, within atol + rtol |e| elsewhere. Returns the number of NaN/Inf in `expected`.
size_t expect_same(const std::vector<float>& actual, const std::vector<float>& expected, double rtol, double atol,
                   const std::string& what) {
  REQUIRE(actual.size() == expected.size());
  size_t bad = 0, first = 0, nonfinite = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const float a = actual[i], e = expected[i];
    bool ok;
    if (std::isnan(e)) ok = std::isnan(a), ++nonfinite;
    else if (std::isinf(e)) ok = a == e, ++nonfinite;
    else ok = std::isfinite(a) && std::fabs(double(a) - e) <= atol + rtol * std::fabs(e);
    if (!ok && bad++ == 0) first = i;
  }
  std::ostringstream os;
  os << what << ": " << bad << " of " << actual.size() << " elements differ";
  if (bad) os << "; first at " << first << ": got " << actual[first] << ", expected " << expected[first];
  INFO(os.str());
  CHECK(bad == 0);
  return nonfinite;
}

// Values that cover both signs, zero and the non-finite cases.
const std::vector<float> kSpecial{kNaN, -kNaN, kInf, -kInf, 0.f, -0.f, 1.5f, -1.5f, 1e-30f, -1e-30f, 3e38f, -3e38f};

}  // namespace

TEST_CASE("ReLU (alone and fused with a bias) and sigmoid propagate NaN and Inf as the CPU twins",
          "[cuda][elementwise][nonfinite]") {
  // Every (input, upstream gradient) pair of kSpecial.
  std::vector<float> x, dout;
  for (float a : kSpecial)
    for (float b : kSpecial) x.push_back(a), dout.push_back(b);
  const size_t n = x.size();
  const auto din0 = rand_vec(n, 501);

  Guarded dx(x), dy(n);
  cuda().relu_forward(kS0, dy.get(), dx.get(), int64_t(n));
  std::vector<float> y(n);
  cpu::relu_forward(y.data(), x.data(), int64_t(n));
  CHECK(expect_same(dy.host(), y, 0, 0, "relu forward") > 0);
  CHECK(std::isnan(y[0]));  // the CPU twin's contract: NaN in, NaN out

  Guarded ddout(dout), ddin(din0);
  cuda().relu_backward(kS0, ddin.get(), ddout.get(), dy.get(), int64_t(n));
  std::vector<float> din = din0;
  cpu::relu_backward(din.data(), dout.data(), y.data(), int64_t(n));
  CHECK(expect_same(ddin.host(), din, 0, 0, "relu backward") > 0);

  // The ReLU fused with a bias (12 columns: every special value is also a bias) and its backward.
  Guarded dfused(x), dbias(kSpecial), ddpre(n);
  cuda().bias_relu_forward(kS0, dfused.get(), dbias.get(), int64_t(n / kSpecial.size()), int64_t(kSpecial.size()));
  std::vector<float> fused = x;
  cpu::bias_relu_forward(fused.data(), kSpecial.data(), int64_t(n / kSpecial.size()), int64_t(kSpecial.size()));
  CHECK(expect_same(dfused.host(), fused, 0, 0, "bias + relu forward") > 0);
  cuda().relu_bias_backward(kS0, ddpre.get(), nullptr, ddout.get(), dfused.get(), int64_t(n / kSpecial.size()),
                            int64_t(kSpecial.size()));
  std::vector<float> dpre(n);
  cpu::relu_bias_backward(dpre.data(), static_cast<float*>(nullptr), dout.data(), fused.data(),
                          int64_t(n / kSpecial.size()), int64_t(kSpecial.size()));
  CHECK(expect_same(ddpre.host(), dpre, 0, 0, "relu + bias backward") > 0);

  Guarded ds(n);
  cuda().sigmoid_forward(kS0, ds.get(), dx.get(), int64_t(n));
  std::vector<float> s(n);
  cpu::sigmoid_forward(s.data(), x.data(), int64_t(n));
  expect_same(ds.host(), s, 0, 1e-6, "sigmoid forward");
  Guarded dsig(s), ddin2(din0);
  cuda().sigmoid_backward(kS0, ddin2.get(), ddout.get(), dsig.get(), int64_t(n));
  din = din0;
  cpu::sigmoid_backward(din.data(), dout.data(), s.data(), int64_t(n));
  expect_same(ddin2.host(), din, 1e-6, 1e-7, "sigmoid backward");
}

TEST_CASE("margin and MSE losses propagate NaN and Inf as the CPU twins", "[cuda][loss][nonfinite]") {
  const int64_t B = 7, J = 10;
  std::vector<int32_t> labels(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) labels[size_t(b)] = int32_t((b * 3 + 1) % J);
  const auto clean = rand_vec(size_t(B * J), 511, 0.0, 1.0);
  const auto dy0 = rand_vec(clean.size(), 512);
  struct Case {
    const char* what;
    int64_t b, j;  // where the special value goes; j = -1: the label's column
    float value;
  };
  for (const Case c : {Case{"NaN at a label", 2, -1, kNaN}, Case{"NaN off the label", 3, 0, kNaN},
                       Case{"+Inf off the label", 1, 5, kInf}, Case{"-Inf at a label", 4, -1, -kInf},
                       Case{"-Inf off the label", 0, 9, -kInf}, Case{"+Inf at a label", 5, -1, kInf}}) {
    INFO(c.what);
    std::vector<float> y = clean;
    const int64_t j = c.j < 0 ? labels[size_t(c.b)] : c.j;
    y[size_t(c.b * J + j)] = c.value;
    Guarded d_y(y), d_dy(dy0);
    const float gpu = margin_forward_from_host(d_y.get(), labels, B, J);
    const float cpu = cpu::margin_forward(y.data(), labels.data(), B, J);
    INFO("margin forward: GPU " << gpu << ", CPU " << cpu);
    if (std::isnan(cpu)) CHECK(std::isnan(gpu));
    else if (std::isinf(cpu)) CHECK(gpu == cpu);
    else CHECK(gpu == Approx(cpu).epsilon(1e-5));
    margin_backward_from_host(d_dy.get(), 0.75f, d_y.get(), labels, B, J);
    std::vector<float> dy = dy0;
    cpu::margin_backward(dy.data(), 0.75f, y.data(), labels.data(), B, J);
    expect_same(d_dy.host(), dy, 1e-6, 1e-7, "margin backward");
  }
  // A NaN label-column output must give a NaN loss (fmaxf(0, 0.9 - NaN) would give 0).
  std::vector<float> y = clean;
  y[size_t(2 * J + labels[2])] = kNaN;
  Guarded d_y(y);
  CHECK(std::isnan(margin_forward_from_host(d_y.get(), labels, B, J)));

  std::vector<float> a = rand_vec(kSpecial.size() * 3, 513, 0.0, 1.0), t = rand_vec(a.size(), 514, 0.0, 1.0);
  for (size_t k = 0; k < kSpecial.size(); ++k) a[3 * k] = kSpecial[k];
  Guarded d_a(a), d_t(t), d_da(std::vector<float>(a.size(), 0.f));
  const float gpu = mse_forward_from_host(d_a.get(), d_t.get(), int64_t(a.size()));
  CHECK(std::isnan(gpu));
  CHECK(std::isnan(cpu::mse_forward(a.data(), t.data(), int64_t(a.size()))));
  std::vector<float> da(a.size(), 0.f);
  mse_backward_from_host(d_da.get(), 0.5f, d_a.get(), d_t.get(), int64_t(a.size()));
  cpu::mse_backward(da.data(), 0.5f, a.data(), t.data(), int64_t(a.size()));
  expect_same(d_da.host(), da, 1e-6, 1e-7, "mse backward");
}

TEST_CASE("squash, length and routing propagate NaN and Inf as the CPU twins", "[cuda][capsule][nonfinite]") {
  const int64_t D = 16, rows = int64_t(kSpecial.size()) + 3;
  std::vector<float> s = rand_vec(size_t(rows * D), 521, -2, 2);
  for (size_t k = 0; k < kSpecial.size(); ++k) s[k * D + k % D] = kSpecial[k];  // one special value per row
  const auto dv = rand_vec(s.size(), 522), ds0 = rand_vec(s.size(), 523);
  Guarded d_s(s), d_v(s.size()), d_dv(dv), d_ds(ds0);
  cuda().squash_forward(kS0, d_v.get(), d_s.get(), rows, D);
  std::vector<float> v(s.size()), ds = ds0;
  cpu::squash_forward(v.data(), s.data(), rows, D);
  CHECK(expect_same(d_v.host(), v, 1e-5, 1e-6, "squash forward") > 0);
  cuda().squash_backward(kS0, d_ds.get(), d_dv.get(), d_s.get(), rows, D);
  cpu::squash_backward(ds.data(), dv.data(), s.data(), rows, D);
  CHECK(expect_same(d_ds.host(), ds, 1e-5, 1e-5, "squash backward") > 0);

  Guarded d_len(static_cast<size_t>(rows));
  cuda().length_forward(kS0, d_len.get(), d_s.get(), rows, D);
  std::vector<float> len(static_cast<size_t>(rows));
  cpu::length_forward(len.data(), s.data(), rows, D);
  CHECK(expect_same(d_len.host(), len, 1e-6, 1e-6, "length forward") > 0);

  // Routing: a NaN or Inf prediction in one image reaches the softmax of the next iteration.
  const int64_t RB = 3, N = 6, J = 4, RD = 8;
  for (float special : {kNaN, kInf, -kInf}) {
    INFO("routing with " << special << " in image 1");
    std::vector<float> uh = rand_vec(size_t(RB * N * J * RD), 524);
    uh[size_t(((1 * N + 2) * J + 1) * RD + 3)] = special;
    std::vector<float> expect(size_t(RB * J * RD));
    cpu::routing_forward(expect.data(), uh.data(), RB, N, J, RD, 3, false);
    for (auto variant : {kernels::RoutingVariant::Fused, kernels::RoutingVariant::Unfused, kernels::RoutingVariant::Split}) {
      cuda().set_routing_variant(variant);
      Guarded d_uh(uh), d_rv(expect.size());
      cuda().routing_forward(kS0, d_rv.get(), d_uh.get(), RB, N, J, RD, 3, false);
      CHECK(expect_same(d_rv.host(), expect, 1e-4, 1e-5, "routing forward") > 0);
    }
    cuda().set_routing_variant(kernels::RoutingVariant::Auto);
  }
}

TEST_CASE("count_non_finite matches the CPU twin over many arrays", "[cuda][nonfinite]") {
  // 150 arrays: three launches of at most 64; sizes 0, 1, block-sized and odd; specials at the
  // first and last element and inside, and arrays without any.
  std::vector<std::vector<float>> host;
  for (int k = 0; k < 150; ++k) {
    const size_t n = k % 7 == 0 ? 0 : k % 5 == 0 ? 1 : size_t(13 + 97 * k + (k % 3 == 0 ? 1024 * 4 : 0));
    std::vector<float> a = rand_vec(n, 600 + uint64_t(k), -3e38, 3e38);
    if (n > 0 && k % 4 == 1) a[0] = kSpecial[size_t(k) % 4];
    if (n > 2 && k % 6 == 2) a[n - 1] = kInf, a[n / 2] = kNaN;
    host.push_back(a);
  }
  std::vector<std::unique_ptr<Guarded>> dev;
  std::vector<const float*> ptrs;
  std::vector<int64_t> sizes;
  int64_t expected = 0;
  for (const auto& a : host) {
    dev.push_back(std::make_unique<Guarded>(a.empty() ? std::vector<float>{0.f} : a));
    ptrs.push_back(dev.back()->get());
    sizes.push_back(int64_t(a.size()));
    expected += cpu::count_non_finite(a.data(), int64_t(a.size()));
  }
  REQUIRE(expected > 20);
  CHECK(cuda().count_non_finite(kS0, ptrs.data(), sizes.data(), int(ptrs.size())) == expected);
  // Each prefix, so a miscounted launch boundary shows.
  for (int count : {0, 1, 63, 64, 65, 128, 129}) {
    int64_t want = 0;
    for (int k = 0; k < count; ++k) want += cpu::count_non_finite(host[size_t(k)].data(), sizes[size_t(k)]);
    INFO(count << " arrays");
    CHECK(cuda().count_non_finite(kS0, ptrs.data(), sizes.data(), count) == want);
  }
  for (const auto& d : dev) d->expect_guards_intact("count_non_finite");
}

TEST_CASE("finite guard on GPUs: finite passes, a bad weight or moment is named", "[cuda][nonfinite]") {
  ModelSpec spec;
  spec.type = "mlcn";
  spec.lanes = {{"mlcn1", 1, 1}, {"mlcn2", 1, 1}};
  Model model(spec);
  model.init(3);
  const int gpus = cuda_device_count() > 1 ? 2 : 1;
  model.place({Device::cuda(0), Device::cuda(gpus - 1)}, Device::cuda(0));
  std::vector<Param*> lane0, lane1, head;  // one optimizer per lane and one for the head, as the runtime has
  for (Param* p : model.all_params())
    (p->name.rfind("lanes.0.", 0) == 0 ? lane0 : p->name.rfind("lanes.1.", 0) == 0 ? lane1 : head).push_back(p);
  REQUIRE(!lane1.empty());
  Adam opt0(lane0), opt1(lane1), opt_head(head);
  const std::vector<Adam*> opts{&opt0, &opt1, &opt_head};
  CHECK(first_non_finite_tensor(model, opts).empty());

  auto poke = [](Tensor& t, int64_t at, float value) {
    const Device d = t.device();
    cuda().copy(Stream::setup(d.index), t.data<float>() + at, d.index, &value, -1, sizeof(float));
    cuda().synchronize(Stream::setup(d.index));
  };
  Param* bad = lane1.front();
  INFO("lane 1 on cuda:" << gpus - 1);
  poke(bad->var->value, 1, kInf);
  const std::string d = first_non_finite_tensor(model, opts);
  CHECK(d.find(bad->name) != std::string::npos);
  CHECK(d.find("element 1") != std::string::npos);
  CHECK(d.find("(lane 1)") != std::string::npos);
  poke(bad->var->value, 1, 0.f);
  CHECK(first_non_finite_tensor(model, opts).empty());

  poke(opt0.v().back(), 0, kNaN);
  const std::string m = first_non_finite_tensor(model, opts);
  CHECK(m.find("adam.v." + lane0.back()->name) != std::string::npos);
  CHECK(m.find("(lane 0)") != std::string::npos);
}
