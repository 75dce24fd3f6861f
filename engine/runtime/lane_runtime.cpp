// LaneRuntime: forward per device, head, scatter, backward + Adam per device; see the header.
#include "engine/runtime/lane_runtime.h"

#include "engine/ops/ops.h"

namespace mlcn {

LaneRuntime::LaneRuntime(Model& model, const RuntimeOptions& opt) : model_(model), head_device_(opt.head_device) {
  MLCN_CHECK(opt.cpu_devices >= 1, "runtime: at least one CPU device is needed");
  for (int d = 0; d < opt.cpu_devices; ++d) workers_.push_back(std::make_unique<CpuWorker>(opt.threads_per_device));
  const size_t L = model.num_lanes();
  placement_ = opt.placement;
  if (placement_.empty())
    for (size_t l = 0; l < L; ++l) placement_.push_back(static_cast<int>(l % workers_.size()));
  MLCN_CHECK(placement_.size() == L, "runtime.placement has " << placement_.size() << " entries for " << L << " lanes");
  for (size_t l = 0; l < L; ++l)
    MLCN_CHECK(placement_[l] >= 0 && placement_[l] < static_cast<int>(workers_.size()),
               "runtime.placement: lane " << l << " on device " << placement_[l] << ", but there are "
                                          << workers_.size() << " devices");
  MLCN_CHECK(head_device_ >= 0 && head_device_ < static_cast<int>(workers_.size()), "runtime: bad head device");
  lane_tapes_.resize(L);
  for (size_t l = 0; l < L; ++l) {
    std::vector<Param*> ps;
    for (Param& p : model.lane(l).params()) ps.push_back(&p);
    lane_opt_.push_back(std::make_unique<Adam>(ps));
  }
  std::vector<Param*> hs;
  for (Param& p : model.head().params()) hs.push_back(&p);
  head_opt_ = std::make_unique<Adam>(hs);
}

std::vector<Adam*> LaneRuntime::optimizers() {
  std::vector<Adam*> out;
  for (auto& o : lane_opt_) out.push_back(o.get());
  out.push_back(head_opt_.get());
  return out;
}

StepResult LaneRuntime::step(const Tensor& x, const std::vector<int32_t>& labels, StepMode mode, double lr,
                             Rng* dropout_rng) {
  const size_t L = model_.num_lanes();
  const bool grad = mode != StepMode::Eval;
  std::vector<Var> outs(L);
  Var xv = make_var(x, false);
  auto run_on_devices = [&](const std::function<void(size_t lane)>& fn) {
    std::vector<std::future<void>> futs;
    for (size_t d = 0; d < workers_.size(); ++d)
      futs.push_back(workers_[d]->submit([&, d] {
        for (size_t l = 0; l < L; ++l)
          if (placement_[l] == static_cast<int>(d)) fn(l);
      }));
    for (auto& f : futs) f.get();  // rethrows a lane's error
  };
  run_on_devices([&](size_t l) {
    lane_tapes_[l].clear();
    lane_tapes_[l].grad_enabled = grad;
    outs[l] = model_.lane(l).forward(lane_tapes_[l], xv);
  });

  StepResult res;
  std::vector<Var> gathered(L);
  workers_[head_device_]->submit([&] {
    head_tape_.clear();
    head_tape_.grad_enabled = grad;
    for (size_t l = 0; l < L; ++l) gathered[l] = make_var(outs[l]->value, grad);  // host tensors: no copy
    std::vector<double> scale;
    const double p = model_.spec().lane_dropout;
    if (mode == StepMode::Train && p > 0 && dropout_rng) {  // one keep-mask over lanes per step (spec 1.6)
      for (size_t l = 0; l < L; ++l) scale.push_back(dropout_rng->uniform() < p ? 0.0 : 1.0 / (1.0 - p));
    }
    Var V = concat_last(head_tape_, gathered);
    HeadResult h = model_.head().forward(head_tape_, V, x, labels, scale, mode != StepMode::Eval, model_.spec().lam_recon);
    if (grad) head_tape_.backward(h.loss);
    res.loss = h.loss->value.item();
    res.margin = h.margin->value.item();
    res.recon = h.recon_loss->value.item();
    res.lengths = h.lengths;
    std::vector<int32_t> pred = argmax_rows(h.lengths);
    for (size_t b = 0; b < labels.size(); ++b) res.correct += pred[b] == labels[b];
    if (mode == StepMode::Train) head_opt_->step(lr);
    head_tape_.clear();
  }).get();
  if (!grad) return res;

  run_on_devices([&](size_t l) {
    Tensor g = gathered[l]->grad.defined() ? gathered[l]->grad : Tensor::zeros(outs[l]->value.shape(), outs[l]->value.dtype());
    lane_tapes_[l].backward(outs[l], g.to(outs[l]->value.device()));
    lane_tapes_[l].clear();
    if (mode == StepMode::Train) lane_opt_[l]->step(lr);
  });
  return res;
}

}  // namespace mlcn
