// The lane runtime on a GPU: 3 heterogeneous lanes on cuda:0, each on its own stream, with the
// head on the same GPU, train for 3 steps (Adam, lane dropout) exactly like the CPU runtime
// (same seeds and batches). Tolerances as in test_model_step.cpp, loosened for 3 updates:
// losses rtol 1e-3, parameters within 1e-3 in relative L2 norm.
#include <cmath>
#include <cstdlib>
#include <vector>

#include "cuda_test_util.h"
#include "engine/runtime/lane_runtime.h"

using namespace mlcn;
using namespace mlcn::test;

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
  const auto pixels = rand_vec(size_t(B * 28 * 28), 9, 0.0, 1.0);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, pixels[size_t(i)]);
  std::vector<int32_t> labels;
  for (int64_t b = 0; b < B; ++b) labels.push_back(int32_t((b * 3 + 1) % 10));
  Rng rc(5), rg(5);
  for (int s = 0; s < 3; ++s) {
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
