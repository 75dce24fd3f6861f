// Decoupled weight decay and gradient clipping, in float64 on tiny models:
//  - AdamW: one step equals p (1 - lr wd) - lr_t m / (sqrt(v) + eps) computed here by hand;
//  - clipping: the global norm after scaling is the limit (and unchanged below it);
//  - a training step with train.clip_norm equals a gradient step, the gradients scaled by hand
//    by clip / norm, then Adam: bitwise, lanes on two CPU devices.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/comm/comm.h"
#include "engine/optim/adam.h"
#include "engine/optim/grad_clip.h"
#include "engine/runtime/dist_runtime.h"

using namespace mlcn;

namespace {

ModelSpec two_lanes() {
  ModelSpec s;
  s.input = {28, 28, 1, 10};
  s.lanes = {{"mlcn1", 1, 1}, {"mlcn2", 1, 1}};
  s.lane.dtype = DType::F64;
  return s;
}

Tensor batch(int64_t B, std::vector<int32_t>& labels) {
  Rng r(5);
  Tensor x = Tensor::empty({B, 28, 28, 1}, DType::F64);
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, r.uniform());
  labels.clear();
  for (int64_t b = 0; b < B; ++b) labels.push_back(static_cast<int32_t>(r.below(10)));
  return x;
}

double global_norm(const std::vector<Param*>& ps) { return std::sqrt(grad_sum_squares(ps)); }

}  // namespace

TEST_CASE("AdamW: one step matches the formula, weight decay 0 is Adam", "[optim][adamw]") {
  for (double wd : {0.0, 0.1}) {
    Param p;
    p.name = "w";
    p.var = make_var(Tensor::empty({3}, DType::F64), true);
    const double w0[3] = {0.5, -2.0, 1.25}, g0[3] = {0.1, -0.3, 0.0};
    for (int i = 0; i < 3; ++i) p.var->value.set(i, w0[i]);
    p.var->grad = Tensor::empty({3}, DType::F64);
    for (int i = 0; i < 3; ++i) p.var->grad.set(i, g0[i]);
    Adam opt({&p});
    opt.set_weight_decay(wd);
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    opt.step(lr);
    const double lr_t = lr * std::sqrt(1 - b2) / (1 - b1);
    for (int i = 0; i < 3; ++i) {
      const double m = (1 - b1) * g0[i], v = (1 - b2) * g0[i] * g0[i];
      INFO("wd " << wd << " element " << i);
      CHECK(p.var->value.item(i) == Approx(w0[i] * (1 - lr * wd) - lr_t * m / (std::sqrt(v) + eps)).epsilon(1e-14));
    }
  }
  Adam opt({});
  CHECK_THROWS_WITH(opt.set_weight_decay(-1), Catch::Contains("weight decay"));
}

TEST_CASE("clipping by global norm: the norm after scaling is the limit", "[optim][clip]") {
  std::vector<int32_t> labels;
  Tensor x = batch(4, labels);
  Model m(two_lanes());
  m.init(3);
  LaneRuntime rt(m, {1, 1, {}, 0, {}});
  rt.step(x, labels, StepMode::Grad, 0, nullptr);
  const std::vector<Param*> ps = m.all_params();
  const double norm = global_norm(ps);
  REQUIRE(norm > 0.01);
  CHECK(clip_factor(norm, 2 * norm) == 1.0);  // below the limit: unchanged
  scale_grads(ps, clip_factor(norm, norm / 4));
  CHECK(global_norm(ps) <= norm / 4);  // the 1e-6 guard of clip_factor keeps it just below
  CHECK(global_norm(ps) == Approx(norm / 4).epsilon(1e-5));
}

TEST_CASE("a training step with clip_norm equals gradients scaled by hand, then Adam", "[optim][clip]") {
  std::vector<int32_t> labels;
  Tensor x = batch(6, labels);
  auto comm = make_local_comm();
  Model a(two_lanes()), b(two_lanes());
  a.init(9);
  b.init(9);
  RuntimeOptions ro;
  ro.cpu_devices = 2;
  ro.devices = {Device::cpu(0), Device::cpu(1)};
  ro.placement = {0, 1};
  DistOptions clipped;
  clipped.clip_norm = 1e-3;  // far below the norm of a fresh model's gradients: clipping acts
  clipped.placement = {0, 1};
  DistRuntime with(a, ro, clipped, *comm);
  const StepResult r = with.step(x, labels, StepMode::Train, 0.01, nullptr);

  LaneRuntime by_hand(b, ro);
  by_hand.step(x, labels, StepMode::Grad, 0.01, nullptr);
  const std::vector<Adam*> opts = by_hand.optimizers();  // the lanes' sums, then the head's, as the runtime adds them
  double lanes = 0;
  for (size_t l = 0; l + 1 < opts.size(); ++l) lanes += grad_sum_squares(opts[l]->params());
  const double norm = std::sqrt(lanes + grad_sum_squares(opts.back()->params()));
  CHECK(r.grad_norm == norm);
  REQUIRE(norm > 1e-2);
  scale_grads(b.all_params(), 1e-3 / (norm + 1e-6));
  for (Adam* o : opts) o->step(0.01);
  const auto pa = a.all_params(), pb = b.all_params();
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i]->name);
    for (int64_t k = 0; k < pa[i]->var->value.numel(); ++k)
      REQUIRE(pa[i]->var->value.item(k) == pb[i]->var->value.item(k));
  }
}
