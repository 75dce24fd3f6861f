// The lane runtime: 3 heterogeneous lanes on 2 CPU devices give the same loss and gradients as
// on 1 device (each worker 1 thread, so every reduction runs in the same order: bitwise equal),
// and a few training steps reduce the loss.
#include <catch2/catch.hpp>

#include "engine/runtime/lane_runtime.h"

using namespace mlcn;

namespace {
ModelSpec three_lanes() {
  ModelSpec s;
  s.input = {28, 28, 1, 10};
  s.lanes = {{"mlcn1", 2, 2}, {"mlcn1", 1, 1}, {"mlcn2", 1, 1}};
  return s;
}
Tensor batch(int64_t B, std::vector<int32_t>& labels) {
  Rng r(21);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, r.uniform());
  labels.clear();
  for (int64_t b = 0; b < B; ++b) labels.push_back(static_cast<int32_t>(r.below(10)));
  return x;
}
}  // namespace

TEST_CASE("3 lanes on 2 CPU devices equal 1 device: loss and every gradient", "[runtime]") {
  std::vector<int32_t> labels;
  Tensor x = batch(6, labels);
  Model a(three_lanes()), b(three_lanes());
  a.init(4);
  b.init(4);
  LaneRuntime one(a, {1, 1, {}, 0, {}});
  LaneRuntime two(b, {2, 1, {0, 1, 1}, 1, {}});
  StepResult ra = one.step(x, labels, StepMode::Grad, 0, nullptr);
  StepResult rb = two.step(x, labels, StepMode::Grad, 0, nullptr);
  CHECK(ra.loss == rb.loss);
  CHECK(ra.margin == rb.margin);
  auto pa = a.all_params(), pb = b.all_params();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i]->name);
    REQUIRE(pa[i]->var->grad.defined());
    for (int64_t k = 0; k < pa[i]->var->grad.numel(); ++k) REQUIRE(pa[i]->var->grad.item(k) == pb[i]->var->grad.item(k));
  }
}

TEST_CASE("training steps on 2 devices reduce the loss", "[runtime]") {
  std::vector<int32_t> labels;
  Tensor x = batch(8, labels);
  Model m(three_lanes());
  m.init(1);
  LaneRuntime rt(m, {2, 1, {}, 0, {}});
  double first = rt.step(x, labels, StepMode::Train, 1e-3, nullptr).loss, last = first;
  for (int i = 0; i < 15; ++i) last = rt.step(x, labels, StepMode::Train, 1e-3, nullptr).loss;
  CHECK(last < first);
}

TEST_CASE("a placement naming a missing device is an error", "[runtime]") {
  Model m(three_lanes());
  CHECK_THROWS_WITH(LaneRuntime(m, {2, 1, {0, 1, 2}, 0, {}}), Catch::Contains("lane 2 on device 2"));
}

namespace {
// Two mlcn1 w2 lanes of different depth (one trunk shape), a lone mlcn1 w1, two mlcn2 w1.
ModelSpec groupable(DType dt) {
  ModelSpec s;
  s.input = {28, 28, 1, 10};
  s.lanes = {{"mlcn1", 2, 1}, {"mlcn2", 1, 1}, {"mlcn1", 2, 2}, {"mlcn1", 1, 1}, {"mlcn2", 1, 1}};
  s.lane.dtype = dt;
  return s;
}
RuntimeOptions grouped_on(bool on) {
  RuntimeOptions o;
  o.group_lanes = on;
  return o;
}
// Every parameter of a and b within |x - y| <= tol * (1 + |y|); grads too when `grads`.
void expect_models_close(Model& a, Model& b, double tol, bool grads) {
  auto pa = a.all_params(), pb = b.all_params();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i]->name);
    const Tensor& x = grads ? pa[i]->var->grad : pa[i]->var->value;
    const Tensor& y = grads ? pb[i]->var->grad : pb[i]->var->value;
    REQUIRE(x.defined());
    double worst = 0;
    for (int64_t k = 0; k < x.numel(); ++k)
      worst = std::max(worst, std::abs(x.item(k) - y.item(k)) / (1 + std::abs(y.item(k))));
    CHECK(worst <= tol);
  }
}
}  // namespace

TEST_CASE("group_lanes runs same-shape lanes as one unit", "[runtime][group]") {
  Model m(groupable(DType::F32));
  LaneRuntime rt(m, grouped_on(true));
  CHECK(rt.units() == std::vector<std::vector<size_t>>{{0, 2}, {1, 4}, {3}});
  Model n(groupable(DType::F32));
  LaneRuntime separate(n, grouped_on(false));
  CHECK(separate.units().size() == 5);
}

TEST_CASE("grouped lanes give the loss and gradients of separate lanes (float64)", "[runtime][group]") {
  std::vector<int32_t> labels;
  Tensor x = batch(5, labels).to(DType::F64);
  Model a(groupable(DType::F64)), b(groupable(DType::F64));
  a.init(9);
  b.init(9);
  LaneRuntime grouped(a, grouped_on(true)), separate(b, grouped_on(false));
  StepResult ra = grouped.step(x, labels, StepMode::Grad, 0, nullptr);
  StepResult rb = separate.step(x, labels, StepMode::Grad, 0, nullptr);
  CHECK(std::abs(ra.loss - rb.loss) <= 1e-12 * std::abs(rb.loss));
  expect_models_close(a, b, 1e-10, true);
}

TEST_CASE("grouped and separate lanes train alike (float32, 3 Adam steps)", "[runtime][group]") {
  std::vector<int32_t> labels;
  Tensor x = batch(6, labels);
  Model a(groupable(DType::F32)), b(groupable(DType::F32));
  a.init(3);
  b.init(3);
  LaneRuntime grouped(a, grouped_on(true)), separate(b, grouped_on(false));
  for (int i = 0; i < 3; ++i) {
    StepResult ra = grouped.step(x, labels, StepMode::Train, 1e-3, nullptr);
    StepResult rb = separate.step(x, labels, StepMode::Train, 1e-3, nullptr);
    CHECK(std::abs(ra.loss - rb.loss) <= 1e-5 * std::abs(rb.loss));
  }
  expect_models_close(a, b, 1e-5, false);
}
