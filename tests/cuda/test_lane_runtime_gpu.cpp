// The lane runtime on a GPU: 3 heterogeneous lanes on cuda:0, each on its own stream, with the
// head on the same GPU, train for 3 steps (Adam, lane dropout) exactly like the CPU runtime
// (same seeds and batches). Tolerances as in test_model_step.cpp, loosened for 3 updates:
// losses rtol 1e-3, parameters within 1e-3 in relative L2 norm. With two GPUs (or the
// emulator's two devices), lanes split over both, grouped and replayed from graphs, with the
// head on the second, train like all of them eagerly on one (rtol 1e-4); so does a head alone
// on the second GPU replayed from its graph, which copies each batch's images in itself.
#include <cmath>
#include <cstdlib>
#include <vector>

#include "cuda_test_util.h"
#include "engine/core/backend.h"
#include "engine/runtime/lane_runtime.h"

using namespace mlcn;
using namespace mlcn::test;

namespace {
// Every parameter of b within tol of a's in relative L2 norm, wherever each lives.
void expect_same_params(Model& a, Model& b, double tol) {
  auto pa = a.all_params(), pb = b.all_params();
  REQUIRE(pa.size() == pb.size());
  for (size_t k = 0; k < pa.size(); ++k) {
    INFO(pa[k]->name);
    Tensor x = pa[k]->var->value.to(Device::cpu()), y = pb[k]->var->value.to(Device::cpu());
    std::vector<float> vx(x.data<float>(), x.data<float>() + x.numel()), vy(y.data<float>(), y.data<float>() + y.numel());
    CHECK(rel_l2(vy, vx) <= tol);
  }
}
}  // namespace

TEST_CASE("lane runtime: 3 lanes on one GPU with a stream each train like the CPU runtime", "[cuda][runtime]") {
  ModelSpec spec;
  spec.lanes = {{"mlcn1", 2, 2}, {"mlcn1", 1, 1}, {"mlcn2", 1, 1}};
  spec.lane_dropout = 0.25;
  Model cpu_model(spec), gpu_model(spec);
  cpu_model.init(3);
  gpu_model.init(3);
  LaneRuntime cpu_rt(cpu_model, {1, 2, {}, 0, {}});
  LaneRuntime gpu_rt(gpu_model, {1, 1, {}, 0, {Device::cuda(0)}});
  const int64_t B = 12;
  std::vector<int32_t> labels;
  for (int64_t b = 0; b < B; ++b) labels.push_back(int32_t((b * 3 + 1) % 10));
  Rng rc(5), rg(5);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int s = 0; s < 3; ++s) {  // a new batch every step: stale inputs show
    const auto pixels = rand_vec(size_t(B * 28 * 28), 9 + uint64_t(s), 0.0, 1.0);
    for (int64_t i = 0; i < x.numel(); ++i) x.set(i, pixels[size_t(i)]);
    StepResult c = cpu_rt.step(x, labels, StepMode::Train, 1e-3, &rc);
    StepResult g = gpu_rt.step(x, labels, StepMode::Train, 1e-3, &rg);
    INFO("step " << s);
    CHECK(g.loss == Approx(c.loss).epsilon(1e-3));
    CHECK(std::abs(g.correct - c.correct) <= 1);  // a near-tie of two lengths may flip one prediction
  }
  auto pc = cpu_model.all_params(), pg = gpu_model.all_params();
  REQUIRE(pc.size() == pg.size());
  for (size_t k = 0; k < pc.size(); ++k) {
    INFO(pc[k]->name);
    CHECK(pg[k]->var->value.device() == (Device::cuda(0)));
    Tensor a = pc[k]->var->value, b = pg[k]->var->value.to(Device::cpu());
    std::vector<float> va(a.data<float>(), a.data<float>() + a.numel()), vb(b.data<float>(), b.data<float>() + b.numel());
    CHECK(rel_l2(vb, va) <= 1e-3);
  }
  StepResult e = gpu_rt.step(x, labels, StepMode::Eval, 0, nullptr);
  CHECK(std::isfinite(e.loss));
}

TEST_CASE("lanes on two GPUs with the head on the second train like one GPU", "[cuda][runtime][multigpu]") {
  if (cuda().device_count() < 2) {
    WARN("needs two GPUs; " << cuda().device_count() << " found");
    return;
  }
  ModelSpec spec;
  spec.lanes = {{"mlcn1", 2, 1}, {"mlcn1", 2, 2}, {"mlcn2", 1, 1}, {"mlcn1", 2, 1}};
  spec.lane_dropout = 0.25;
  Model one(spec), two(spec);
  one.init(8);
  two.init(8);
  LaneRuntime rt1(one, {1, 1, {}, 0, {Device::cuda(0)}});
  // Lanes 0 and 3 share a shape on cuda:1 with the head (one group, graphs); lanes 1, 2 on cuda:0.
  RuntimeOptions o2{1, 1, {1, 0, 0, 1}, 1, {Device::cuda(0), Device::cuda(1)}};
  o2.group_lanes = true;
  o2.cuda_graphs = true;
  LaneRuntime rt2(two, o2);
  CHECK(rt2.units().size() == 3);
  const int64_t B = 10;
  const auto pixels = rand_vec(size_t(B * 28 * 28), 19, 0.0, 1.0);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, pixels[size_t(i)]);
  std::vector<int32_t> labels;
  for (int64_t b = 0; b < B; ++b) labels.push_back(int32_t((b * 7 + 2) % 10));
  Rng r1(6), r2(6);
  for (int s = 0; s < 4; ++s) {
    StepResult a = rt1.step(x, labels, StepMode::Train, 1e-3, &r1);
    StepResult b = rt2.step(x, labels, StepMode::Train, 1e-3, &r2);
    INFO("step " << s);
    CHECK(b.loss == Approx(a.loss).epsilon(1e-4));
  }
  CHECK(rt2.graph_units() == 3);
  CHECK(rt2.head_graphed());
  expect_same_params(one, two, 1e-4);
  CHECK(two.lane(0).params()[0].var->value.device() == Device::cuda(1));
  CHECK(two.lane(1).params()[0].var->value.device() == Device::cuda(0));
}

TEST_CASE("a head alone on a second GPU replays from its graph with each step's images and labels",
          "[cuda][runtime][multigpu][graphs]") {
  if (cuda().device_count() < 2) {
    WARN("needs two GPUs; " << cuda().device_count() << " found");
    return;
  }
  ModelSpec spec;
  spec.lanes = {{"mlcn1", 2, 1}, {"mlcn2", 1, 1}};
  spec.lane_dropout = 0.25;
  Model one(spec), two(spec);
  one.init(12);
  two.init(12);
  LaneRuntime rt1(one, {1, 1, {}, 0, {Device::cuda(0)}});
  RuntimeOptions o2{1, 1, {0, 0}, 1, {Device::cuda(0), Device::cuda(1)}};
  o2.cuda_graphs = true;
  LaneRuntime rt2(two, o2);
  const int64_t B = 8;
  Rng r1(3), r2(3);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int s = 0; s < 5; ++s) {  // a new batch and new labels every step: stale inputs show
    const auto pixels = rand_vec(size_t(B * 28 * 28), 40 + uint64_t(s), 0.0, 1.0);
    for (int64_t i = 0; i < x.numel(); ++i) x.set(i, pixels[size_t(i)]);
    std::vector<int32_t> labels;
    for (int64_t b = 0; b < B; ++b) labels.push_back(int32_t((b * 3 + s) % 10));
    StepResult a = rt1.step(x, labels, StepMode::Train, 1e-3, &r1);
    StepResult b = rt2.step(x, labels, StepMode::Train, 1e-3, &r2);
    INFO("step " << s);
    CHECK(b.loss == Approx(a.loss).epsilon(1e-4));
    CHECK(b.recon == Approx(a.recon).epsilon(1e-4));
    CHECK(b.correct == a.correct);
  }
  CHECK(rt2.head_graphed());
  expect_same_params(one, two, 1e-4);
  CHECK(two.head().params()[0].var->value.device() == Device::cuda(1));
}
