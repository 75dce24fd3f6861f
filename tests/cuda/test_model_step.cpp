// A whole training step (forward, loss, backward) of CapsNet and of heterogeneous MLCNs on the
// GPU against the same step on the CPU, through the model API only (engine/models/model.h): the
// same seed initialises both models, the GPU copy is placed on cuda:0, and one tape records
// every lane and the head. Compared: the loss and its parts, the class lengths, the
// reconstruction and every parameter gradient.
// Tolerances (float32, TF32 off): loss parts rtol 1e-4; lengths and reconstructions atol 1e-4;
// each gradient tensor within 1e-3 in relative L2 norm and 1e-2 * max|ref| elementwise. The two
// backends sum convolutions of up to 20736 terms and the routing in different orders, and
// ReLU/margin kinks can flip for values within rounding of zero; a wrong index or a missing
// term gives errors of order one.
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "engine/models/model.h"
#include "engine/ops/ops.h"

using namespace mlcn;
using namespace mlcn::test;

namespace {

struct StepResult {
  double loss = 0, margin = 0, recon_loss = 0;
  std::vector<float> lengths, recon;
  std::vector<std::string> names;
  std::vector<std::vector<float>> grads;
};

std::vector<float> to_host(const Tensor& t) {
  Tensor h = t.to(Device::cpu());
  std::vector<float> v(size_t(h.numel()));
  for (int64_t i = 0; i < h.numel(); ++i) v[size_t(i)] = float(h.item(i));
  return v;
}

StepResult run_step(Model& m, Device dev, const std::vector<float>& pixels, const std::vector<int32_t>& labels,
                    const std::vector<double>& scale) {
  const InputShape& in = m.spec().input;
  const int64_t B = int64_t(labels.size());
  Tensor x = Tensor::empty({B, in.H, in.W, in.C});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, pixels[size_t(i)]);
  x = x.to(dev);
  Tape t;
  Var xv = make_var(x);
  std::vector<Var> outs;
  for (size_t l = 0; l < m.num_lanes(); ++l) outs.push_back(m.lane(l).forward(t, xv));
  Var V = outs.size() == 1 ? outs[0] : concat_last(t, outs);
  HeadResult r = m.head().forward(t, V, x.reshape({B, -1}), labels, scale, true, m.spec().lam_recon);
  t.backward(r.loss);
  StepResult s;
  s.loss = r.loss->value.to(Device::cpu()).item();  // the losses stay on the model's device
  s.margin = r.margin->value.to(Device::cpu()).item();
  s.recon_loss = r.recon_loss->value.to(Device::cpu()).item();
  s.lengths = to_host(r.lengths);
  s.recon = to_host(r.recon);
  for (Param* p : m.all_params()) {
    s.names.push_back(p->name);
    s.grads.push_back(p->var->grad.defined() ? to_host(p->var->grad)
                                             : std::vector<float>(size_t(p->var->value.numel()), 0.f));
  }
  return s;
}

void compare_step(const ModelSpec& spec, int64_t B, const std::vector<double>& scale, uint64_t seed) {
  Model cpu_model(spec), gpu_model(spec);
  cpu_model.init(seed);
  gpu_model.init(seed);
  gpu_model.place(std::vector<Device>(gpu_model.num_lanes(), Device::cuda(0)), Device::cuda(0));
  const InputShape& in = spec.input;
  const auto pixels = rand_vec(size_t(B * in.H * in.W * in.C), seed + 1, 0.0, 1.0);
  std::vector<int32_t> labels(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) labels[size_t(b)] = int32_t((b * 7 + 2) % in.classes);

  const StepResult c = run_step(cpu_model, Device::cpu(), pixels, labels, scale);
  const StepResult g = run_step(gpu_model, Device::cuda(0), pixels, labels, scale);
  CHECK(g.loss == Approx(c.loss).epsilon(1e-4));
  CHECK(g.margin == Approx(c.margin).epsilon(1e-4));
  CHECK(g.recon_loss == Approx(c.recon_loss).epsilon(1e-4));
  expect_close(g.lengths, c.lengths, 0, 1e-4, "class lengths");
  expect_close(g.recon, c.recon, 0, 1e-4, "reconstruction");
  REQUIRE(g.grads.size() == c.grads.size());
  for (size_t k = 0; k < c.grads.size(); ++k) {
    INFO("gradient of " << c.names[k]);
    REQUIRE(g.grads[k].size() == c.grads[k].size());
    CHECK(max_abs(c.grads[k]) > 0);  // every parameter takes part in the step
    CHECK(rel_l2(g.grads[k], c.grads[k]) <= 1e-3);
    expect_close(g.grads[k], c.grads[k], 0, 1e-2 * double(max_abs(c.grads[k])), "gradient");
  }
}

}  // namespace

TEST_CASE("a CapsNet training step on the GPU matches the CPU step", "[cuda][model]") {
  ModelSpec spec;
  spec.type = "capsnet";
  spec.lane.routings = 3;
  compare_step(spec, 2, {}, 401);
}

TEST_CASE("a heterogeneous MLCN step with lane dropout on the GPU matches the CPU step", "[cuda][model]") {
  ModelSpec spec;
  spec.type = "mlcn";
  spec.lanes = {{"mlcn1", 2, 1}, {"mlcn1", 1, 2}, {"mlcn2", 1, 1}};
  spec.lane_dropout = 0.5;
  compare_step(spec, 3, {2.0, 0.0, 2.0}, 402);
}

TEST_CASE("an MLCN step through predict + J=1 routing (fast_caps off) matches the CPU step", "[cuda][model]") {
  ModelSpec spec;
  spec.type = "mlcn";
  spec.lanes = {{"mlcn1", 1, 1}, {"mlcn2", 2, 1}};
  spec.lane.fast_caps = false;
  compare_step(spec, 3, {}, 403);
}
