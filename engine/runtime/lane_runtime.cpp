// LaneRuntime: forward per device, head, scatter, backward + Adam per device; see the header.
#include "engine/runtime/lane_runtime.h"

#include <map>

#include "engine/ops/cuda_bridge.h"
#include "engine/ops/ops.h"

namespace mlcn {
namespace {
// Where a device's tensors live: every CPU device (a worker) shares host memory, cpu:0.
Device memory_of(const Device& d) { return d.is_cpu() ? Device::cpu() : d; }
}  // namespace

LaneRuntime::LaneRuntime(Model& model, const RuntimeOptions& opt) : model_(model), head_device_(opt.head_device) {
  devices_ = opt.devices;
  if (devices_.empty()) {
    MLCN_CHECK(opt.cpu_devices >= 1, "runtime: at least one CPU device is needed");
    for (int d = 0; d < opt.cpu_devices; ++d) devices_.push_back(Device::cpu(d));
  }
  for (const Device& d : devices_) {
    if (d.is_cuda())
      MLCN_CHECK(cuda::available() && d.index < cuda::device_count(),
                 "runtime: " << d.str() << " is not usable (" << cuda::device_count() << " GPU(s) found)");
    workers_.push_back(std::make_unique<CpuWorker>(opt.threads_per_device));
  }
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

  std::vector<Device> lane_devices;
  for (size_t l = 0; l < L; ++l) {
    const Device d = devices_[placement_[l]];
    lane_devices.push_back(memory_of(d));
    lane_streams_.push_back(d.is_cuda() ? cuda::create_stream(d.index) : nullptr);
  }
  if (head_device().is_cuda()) head_stream_ = cuda::create_stream(head_device().index);
  model.place(lane_devices, memory_of(head_device()));

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

void LaneRuntime::use_lane_stream(size_t l) {
  if (lane_streams_[l]) cuda::set_stream(devices_[placement_[l]].index, lane_streams_[l]);
}

StepResult LaneRuntime::step(const Tensor& x, const std::vector<int32_t>& labels, StepMode mode, double lr,
                             Rng* dropout_rng) {
  const size_t L = model_.num_lanes();
  const bool grad = mode != StepMode::Eval;
  std::vector<Var> outs(L);
  // Runs fn(lane) for every lane of every device, devices in parallel, then waits for the
  // lanes' streams: the results are complete when this returns.
  auto run_on_devices = [&](const std::function<void(size_t lane)>& fn) {
    std::vector<std::future<void>> futs;
    for (size_t d = 0; d < workers_.size(); ++d)
      futs.push_back(workers_[d]->submit([&, d] {
        for (size_t l = 0; l < L; ++l)
          if (placement_[l] == static_cast<int>(d)) {
            use_lane_stream(l);
            fn(l);
          }
        for (size_t l = 0; l < L; ++l)
          if (placement_[l] == static_cast<int>(d) && lane_streams_[l]) cuda::stream_synchronize(lane_streams_[l]);
      }));
    for (auto& f : futs) f.get();  // rethrows a lane's error
  };
  // The input once per device that holds lanes (a view of x on the CPU).
  std::map<int, Var> inputs;
  for (size_t l = 0; l < L; ++l) {
    const int d = placement_[l];
    if (inputs.count(d)) continue;
    if (devices_[d].is_cpu()) {
      inputs[d] = make_var(x, false);
    } else {
      Tensor xd;
      workers_[d]->submit([&] {
        use_lane_stream(l);
        xd = x.to(devices_[d]);
        cuda::stream_synchronize(lane_streams_[l]);
      }).get();
      inputs[d] = make_var(xd, false);
    }
  }
  run_on_devices([&](size_t l) {
    lane_tapes_[l].clear();
    lane_tapes_[l].grad_enabled = grad;
    outs[l] = model_.lane(l).forward(lane_tapes_[l], inputs[placement_[l]]);
  });

  StepResult res;
  std::vector<Var> gathered(L);
  const Device hd = memory_of(head_device());
  workers_[head_device_]->submit([&] {
    if (head_stream_) cuda::set_stream(hd.index, head_stream_);
    head_tape_.clear();
    head_tape_.grad_enabled = grad;
    for (size_t l = 0; l < L; ++l) gathered[l] = make_var(outs[l]->value.to(hd), grad);
    std::vector<double> scale;
    const double p = model_.spec().lane_dropout;
    if (mode == StepMode::Train && p > 0 && dropout_rng) {  // one keep-mask over lanes per step (spec 1.6)
      for (size_t l = 0; l < L; ++l) scale.push_back(dropout_rng->uniform() < p ? 0.0 : 1.0 / (1.0 - p));
    }
    Var V = concat_last(head_tape_, gathered);
    HeadResult h =
        model_.head().forward(head_tape_, V, x.to(hd), labels, scale, mode != StepMode::Eval, model_.spec().lam_recon);
    if (grad) head_tape_.backward(h.loss);
    res.loss = h.loss->value.item();
    res.margin = h.margin->value.item();
    res.recon = h.recon_loss->value.item();
    res.lengths = h.lengths;
    std::vector<int32_t> pred = argmax_rows(h.lengths);
    for (size_t b = 0; b < labels.size(); ++b) res.correct += pred[b] == labels[b];
    if (mode == StepMode::Train) head_opt_->step(lr);
    head_tape_.clear();
    if (head_stream_) cuda::stream_synchronize(head_stream_);
  }).get();
  if (!grad) return res;

  run_on_devices([&](size_t l) {
    const Tensor& v = outs[l]->value;
    Tensor g = gathered[l]->grad.defined() ? gathered[l]->grad.to(v.device())
                                           : Tensor::zeros(v.shape(), v.dtype(), v.device());
    lane_tapes_[l].backward(outs[l], g);
    lane_tapes_[l].clear();
    if (mode == StepMode::Train) lane_opt_[l]->step(lr);
  });
  return res;
}

}  // namespace mlcn
