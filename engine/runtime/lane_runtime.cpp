// LaneRuntime: forward per device, head, scatter, backward + Adam per device; see the header.
#include "engine/runtime/lane_runtime.h"

#include <map>

#include "engine/models/lane_group.h"
#include "engine/core/backend.h"
#include "engine/ops/ops.h"
#include "engine/runtime/head_graph.h"
#include "engine/runtime/unit_graph.h"

namespace mlcn {
namespace {
// Where a device's tensors live: every CPU device (a worker) shares host memory, cpu:0.
Device memory_of(const Device& d) { return d.is_cpu() ? Device::cpu() : d; }
}  // namespace

struct LaneRuntime::Unit {
  std::vector<size_t> lanes;
  int device = 0;          // index into devices_
  Stream stream;           // CUDA units: the unit's stream (its tape's and graphs' too)
  void* event = nullptr;   // recorded after the unit's forward
  Tape tape;
  std::unique_ptr<LaneGroup> group;  // several lanes
  std::vector<Var> outs;             // this step's (B, classes, D_l), one per lane
  std::unique_ptr<UnitGraph> graph;
  int64_t warm_batch = -1;  // batch size of the last eager training step
  bool use_graph = false;   // this step replays (or captures) the graphs

  std::vector<Var> forward(Tape& t, const Var& x, Model& m) const {
    if (group) return group->forward(t, x);
    return {m.lane(lanes[0]).forward(t, x)};
  }
};

LaneRuntime::LaneRuntime(Model& model, const RuntimeOptions& opt)
    : model_(model), opt_(opt), head_device_(opt.head_device) {
  devices_ = opt.devices;
  if (devices_.empty()) {
    MLCN_CHECK(opt.cpu_devices >= 1, "runtime: at least one CPU device is needed");
    for (int d = 0; d < opt.cpu_devices; ++d) devices_.push_back(Device::cpu(d));
  }
  for (const Device& d : devices_) {
    if (d.is_cuda())
      MLCN_CHECK(d.index < cuda().device_count(),
                 "runtime: " << d.str() << " is not usable (" << cuda().device_count() << " GPU(s) found)");
    workers_.push_back(std::make_unique<CpuWorker>(opt.threads_per_device));
  }
  const size_t L = model.num_lanes();
  placement_ = opt.placement;
  if (placement_.empty())
    for (size_t l = 0; l < L; ++l) placement_.push_back(static_cast<int>(l % workers_.size()));
  MLCN_CHECK(placement_.size() == L, "runtime.placement has " << placement_.size() << " entries for " << L << " lanes");
  for (size_t l = 0; l < L; ++l)
    MLCN_CHECK((placement_[l] == -1 && opt.exchange) || (placement_[l] >= 0 && placement_[l] < static_cast<int>(workers_.size())),
               "runtime.placement: lane " << l << " on device " << placement_[l] << ", but there are "
                                          << workers_.size() << " devices");
  MLCN_CHECK(head_device_ >= 0 && head_device_ < static_cast<int>(workers_.size()), "runtime: bad head device");

  std::vector<Device> lane_devices;
  for (size_t l = 0; l < L; ++l)
    lane_devices.push_back(placement_[l] < 0 ? Device::cpu() : memory_of(devices_[placement_[l]]));
  if (head_device().is_cuda()) {
    head_stream_ = cuda().create_stream(head_device().index);
    head_event_ = cuda().create_event(head_device().index);
    head_tape_.set_stream(head_stream_);
  }
  model.place(lane_devices, memory_of(head_device()));

  std::vector<Lane*> all;
  for (size_t l = 0; l < L; ++l) all.push_back(&model.lane(l));
  for (size_t d = 0; d < devices_.size(); ++d) {
    std::vector<size_t> mine;
    for (size_t l = 0; l < L; ++l)
      if (placement_[l] == static_cast<int>(d)) mine.push_back(l);
    std::vector<std::vector<size_t>> parts;
    if (opt.group_lanes) parts = group_lanes(all, mine);
    else
      for (size_t l : mine) parts.push_back({l});
    for (auto& lanes : parts) {
      auto u = std::make_unique<Unit>();
      u->lanes = lanes;
      u->device = static_cast<int>(d);
      if (devices_[d].is_cuda()) {
        u->stream = cuda().create_stream(devices_[d].index);
        u->event = cuda().create_event(devices_[d].index);
        u->tape.set_stream(u->stream);
      }
      if (lanes.size() > 1) {
        std::vector<Lane*> ls;
        for (size_t l : lanes) ls.push_back(&model.lane(l));
        u->group = std::make_unique<LaneGroup>(ls);
      }
      units_.push_back(std::move(u));
    }
  }

  for (size_t l = 0; l < L; ++l) {
    std::vector<Param*> ps;
    for (Param& p : model.lane(l).params()) ps.push_back(&p);
    lane_opt_.push_back(std::make_unique<Adam>(ps));
  }
  std::vector<Param*> hs;
  for (Param& p : model.head().params()) hs.push_back(&p);
  head_opt_ = std::make_unique<Adam>(hs);
}

LaneRuntime::~LaneRuntime() {
  // Graphs release their memory pools on their device's worker thread (the device is current there).
  for (auto& u : units_)
    if (u->graph) workers_[u->device]->submit([&] { u->graph.reset(); }).get();
  if (head_graph_) workers_[head_device_]->submit([&] { head_graph_.reset(); }).get();
}

std::vector<Adam*> LaneRuntime::optimizers() {
  std::vector<Adam*> out;
  for (auto& o : lane_opt_) out.push_back(o.get());
  out.push_back(head_opt_.get());
  return out;
}

std::vector<std::vector<size_t>> LaneRuntime::units() const {
  std::vector<std::vector<size_t>> out;
  for (const auto& u : units_) out.push_back(u->lanes);
  return out;
}

size_t LaneRuntime::graph_units() const {
  size_t n = 0;
  for (const auto& u : units_) n += u->graph && u->graph->captured();
  return n;
}

bool LaneRuntime::head_graphed() const { return head_graph_ && head_graph_->captured(); }

bool LaneRuntime::on_head_gpu(const Unit& u) const {
  return u.stream.chosen() && head_stream_.chosen() && devices_[u.device] == head_device();
}

void LaneRuntime::run_on_devices(const std::function<void(Unit&)>& fn, bool wait) {
  std::vector<std::future<void>> futs;
  for (size_t d = 0; d < workers_.size(); ++d)
    futs.push_back(workers_[d]->submit([&, d] {
      for (auto& u : units_)
        if (u->device == static_cast<int>(d)) fn(*u);
      for (auto& u : units_) {
        if (u->device != static_cast<int>(d) || !u->stream.chosen()) continue;
        if (wait) cuda().synchronize(u->stream);
        else cuda().record_event(u->event, u->stream);
      }
    }));
  for (auto& f : futs) f.get();  // rethrows a unit's error
}

StepResult LaneRuntime::step(const Tensor& x, const std::vector<int32_t>& labels, StepMode mode, double lr,
                             Rng* dropout_rng) {
  const size_t L = model_.num_lanes();
  const bool grad = mode != StepMode::Eval;
  const int64_t B = x.dim(0);
  // Graphs serve training steps of the captured batch size, after one eager step at that size.
  for (auto& u : units_) {
    u->use_graph = opt_.cuda_graphs && u->stream.chosen() && mode == StepMode::Train &&
                   (u->graph ? u->graph->batch() == B : u->warm_batch == B);
  }
  // Setup work (parameter copies, optimizer state, checkpoint loads) was queued on each GPU's
  // setup stream: every stream of this step starts after it.
  for (auto& u : units_)
    if (u->stream.chosen()) cuda().order_after_setup(u->stream);
  if (head_stream_.chosen()) cuda().order_after_setup(head_stream_);
  // The input once per device with units (a view of x on the CPU). On a GPU it is copied on the
  // device's first unit stream into the buffer kept for this batch size; the device's other
  // units and the head wait for the copy's event.
  std::map<int, Var> inputs;
  for (auto& u : units_) {
    const int d = u->device;
    if (inputs.count(d)) continue;
    if (devices_[d].is_cpu()) {
      inputs[d] = make_var(x, false);
      continue;
    }
    Tensor& xd = device_input_[{d, B}];
    workers_[d]->submit([&] {
      if (!xd.defined()) xd = Tensor::empty(x.shape(), x.dtype(), devices_[d], u->stream);
      if (!input_event_.count(d)) input_event_[d] = cuda().create_event(devices_[d].index);
      xd.copy_from(x, u->stream);
      cuda().record_event(input_event_[d], u->stream);
    }).get();
    inputs[d] = make_var(xd, false);
  }
  run_on_devices([&](Unit& u) {
    if (u.stream.chosen()) cuda().wait_event(u.stream, input_event_.at(u.device));
    if (u.use_graph) {
      if (!u.graph) u.graph = std::make_unique<UnitGraph>(u.stream);
      u.outs = u.graph->forward(inputs[u.device]->value,
                                [&](Tape& t, const Var& xs) { return u.forward(t, xs, model_); });
      return;
    }
    u.tape.clear();
    u.tape.grad_enabled = grad;
    u.outs = u.forward(u.tape, inputs[u.device], model_);
  }, false);
  std::vector<Var> outs(L);
  std::vector<Stream> lane_stream(L);  // the stream that wrote each lane's output
  for (auto& u : units_)
    for (size_t i = 0; i < u->lanes.size(); ++i) {
      outs[u->lanes[i]] = u->outs[i];
      lane_stream[u->lanes[i]] = u->stream;
    }

  std::vector<Var> gathered(L);
  HeadResult h;  // on the head's device; read back once the step's work is done
  const Device hd = memory_of(head_device());
  const double p = model_.spec().lane_dropout;
  const bool dropout = mode != StepMode::Eval && p > 0 && dropout_rng;
  workers_[head_device_]->submit([&] {
    for (auto& u : units_) {  // the gather: the lane outputs are complete
      if (on_head_gpu(*u)) cuda().wait_event(head_stream_, u->event);
      else if (u->stream.chosen()) cuda().synchronize(u->stream);
    }
    std::vector<Tensor> values(L);
    for (size_t l = 0; l < L; ++l)
      if (outs[l]) values[l] = outs[l]->value;
    if (opt_.exchange) {  // other ranks' lanes: the host needs this rank's outputs complete
      for (auto& u : units_)
        if (u->stream.chosen()) cuda().synchronize(u->stream);
      opt_.exchange(values);
    }
    // Labels and lane dropout scales as host tensors (one keep-mask over lanes per step, spec 1.6).
    const int64_t classes = values[0].dim(1);
    Tensor lab = Tensor::empty({B}, DType::I32);
    for (int64_t b = 0; b < B; ++b) {
      const int32_t c = labels[static_cast<size_t>(b)];
      MLCN_CHECK(c >= 0 && c < classes, "label " << c << " out of range [0, " << classes << ") in the batch");
      lab.data<int32_t>()[b] = c;
    }
    Tensor scale;
    if (dropout) {
      scale = Tensor::empty({static_cast<int64_t>(L)}, values[0].dtype());
      for (size_t l = 0; l < L; ++l) scale.set(static_cast<int64_t>(l), dropout_rng->uniform() < p ? 0.0 : 1.0 / (1.0 - p));
    }
    // The reconstruction target: the device's copy of the batch when units share the head's GPU.
    Tensor images = x;
    if (head_stream_.chosen() && inputs.count(head_device_)) {
      cuda().wait_event(head_stream_, input_event_.at(head_device_));
      images = inputs[head_device_]->value;
    }
    // A captured graph serves the inputs it was captured with (after steps at other sizes too);
    // before that, capture needs one eager training step at this batch size and dropout setting.
    const bool graphed = opt_.cuda_graphs && head_stream_.chosen() && mode == StepMode::Train && !opt_.exchange &&
                         (head_graph_ && head_graph_->captured() ? head_graph_->serves(values, scale, images)
                                                                 : head_warm_ == std::make_pair(B, dropout));
    if (graphed) {
      if (!head_graph_) head_graph_ = std::make_unique<HeadGraph>(head_stream_);
      h = head_graph_->run(
          values, lab, scale, images,
          [&](Tape& t, const Var& V, const Tensor& lb, const Tensor& sc, const Tensor& im) {
            return model_.head().forward(t, V, im, lb, sc, true, model_.spec().lam_recon);
          },
          [&] { head_opt_->advance(lr); }, [&] { head_opt_->apply(head_stream_, true); });
      gathered = head_graph_->gathered();
    } else {
      head_tape_.clear();
      head_tape_.grad_enabled = grad;
      // A copy runs on the head's stream when the head is on a GPU, else on the lane's (waited
      // for); lanes of other ranks arrive as host tensors from the exchange.
      for (size_t l = 0; l < L; ++l)
        gathered[l] = make_var(values[l].to(hd, hd.is_cuda() ? head_stream_ : lane_stream[l]), grad);
      Var V = concat_last(head_tape_, gathered);
      h = model_.head().forward(head_tape_, V, images.to(hd, head_stream_), lab.to(hd, head_stream_),
                                scale.defined() ? scale.to(hd, head_stream_) : Tensor(), mode != StepMode::Eval,
                                model_.spec().lam_recon);
      if (grad) head_tape_.backward(h.loss);
      if (mode == StepMode::Train) {
        head_opt_->step(lr, head_stream_);
        head_warm_ = {B, dropout};
      }
      head_tape_.clear();
    }
    if (head_stream_.chosen()) {  // the scatter: units on this GPU wait for the event, others for the host
      cuda().record_event(head_event_, head_stream_);
      for (auto& u : units_)
        if (!on_head_gpu(*u)) {
          cuda().synchronize(head_stream_);
          break;
        }
    }
  }).get();
  // The head's results, read once the work queued before them has finished (after the units'
  // backward when training, so the host never waits in the middle of a step).
  auto results = [&] {
    StepResult res;
    workers_[head_device_]->submit([&] {
      auto host = [&](const Tensor& t) { return t.to(Device::cpu(), head_stream_); };
      res.loss = host(h.loss->value).item();
      res.margin = host(h.margin->value).item();
      res.recon = host(h.recon_loss->value).item();
      res.lengths = host(h.lengths);
      if (mode == StepMode::Eval) res.recon_images = host(h.recon);
    }).get();
    std::vector<int32_t> pred = argmax_rows(res.lengths);
    for (size_t b = 0; b < labels.size(); ++b) res.correct += pred[b] == labels[b];
    return res;
  };
  if (!grad) return results();

  run_on_devices([&](Unit& u) {
    if (on_head_gpu(u)) cuda().wait_event(u.stream, head_event_);
    if (u.use_graph) {
      std::vector<Tensor> g;
      for (size_t l : u.lanes) g.push_back(gathered[l]->grad);
      u.graph->backward(
          g, [&] { for (size_t l : u.lanes) lane_opt_[l]->advance(lr); },
          [&] { for (size_t l : u.lanes) lane_opt_[l]->apply(u.stream, true); });
      return;
    }
    std::vector<Tensor> seeds;
    for (size_t i = 0; i < u.lanes.size(); ++i) {
      const Tensor& v = u.outs[i]->value;
      const Tensor& g = gathered[u.lanes[i]]->grad;
      seeds.push_back(g.defined() ? g.to(v.device(), u.stream)
                                  : Tensor::zeros(v.shape(), v.dtype(), v.device(), u.stream));
    }
    u.tape.backward(u.outs, seeds);
    u.tape.clear();
    if (mode == StepMode::Train) {
      for (size_t l : u.lanes) lane_opt_[l]->step(lr, u.stream);
      u.warm_batch = B;
    }
  }, true);
  return results();
}

}  // namespace mlcn
