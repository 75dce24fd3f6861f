// DistRuntime: model parallelism inside replica groups, data parallelism across them; see the header.
#include "engine/runtime/dist_runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/optim/grad_clip.h"  // defines: grad_sum_squares, scale_grads, clip_factor

namespace mlcn {
namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

int replica_groups(const std::string& mode, int replicas, int world_size) {
  MLCN_CHECK(mode == "model" || mode == "data", "runtime.mode must be model or data, got '" << mode << "'");
  MLCN_CHECK(replicas >= 0, "runtime.replicas must be >= 0, got " << replicas);
  if (mode == "data") {
    MLCN_CHECK(replicas == 0 || replicas == world_size,
               "runtime.mode data runs one replica per rank: runtime.replicas " << replicas << " on " << world_size << " ranks");
    return world_size;
  }
  const int r = replicas == 0 ? 1 : replicas;
  MLCN_CHECK(world_size % r == 0, "runtime.replicas " << r << " does not divide the " << world_size << " ranks");
  return r;
}

DistRuntime::DistRuntime(Model& model, RuntimeOptions local, const DistOptions& dist, Comm& world)
    : model_(model), world_(world) {
  replicas_ = replica_groups(dist.mode, dist.replicas, world.size());
  MLCN_CHECK(dist.clip_norm >= 0, "train.clip_norm must be >= 0, got " << dist.clip_norm);
  clip_norm_ = dist.clip_norm;
  const int G = world.size() / replicas_;
  group_ = world.split(world.rank() / G, world.rank());
  cross_ = world.split(world.rank() % G, world.rank());
  const std::vector<int64_t> counts = group_->allgather_int(static_cast<int64_t>(local.devices.size()));
  device_offset_.assign(1, 0);
  for (int64_t c : counts) device_offset_.push_back(device_offset_.back() + c);
  const int total = static_cast<int>(device_offset_.back());
  const size_t L = model.num_lanes();
  placement_ = dist.placement;
  if (placement_.empty())
    for (size_t l = 0; l < L; ++l) placement_.push_back(static_cast<int>(l % total));
  MLCN_CHECK(placement_.size() == L, "runtime.placement has " << placement_.size() << " entries for " << L << " lanes");
  const int me = group_->rank();
  local.placement.clear();
  for (size_t l = 0; l < L; ++l) {
    const int d = placement_[l];
    MLCN_CHECK(d >= 0 && d < total, rank_prefix() << "runtime.placement: lane " << l << " on device " << d << ", but the "
                                                  << G << " rank(s) of a replica group have " << total << " devices");
    const int o = static_cast<int>(std::upper_bound(device_offset_.begin(), device_offset_.end(), d) - device_offset_.begin()) - 1;
    owner_.push_back(o);
    local.placement.push_back(o == me ? static_cast<int>(d - device_offset_[me]) : -1);
  }
  local.head_device = 0;
  if (G > 1) local.exchange = [this](std::vector<Tensor>& outs) { exchange(outs); };
  rt_ = std::make_unique<LaneRuntime>(model, local);
}

DistRuntime::~DistRuntime() = default;

void DistRuntime::exchange(std::vector<Tensor>& outs) {
  const auto t0 = Clock::now();
  const int G = group_->size();
  const int64_t rows = cur_batch_ * model_.spec().input.classes;
  const DType dt = model_.spec().lane.dtype;
  const size_t es = dtype_size(dt);
  std::vector<int64_t> n(G, 0);
  for (size_t l = 0; l < outs.size(); ++l) n[owner_[l]] += rows * model_.lane(l).out_dim();
  const int64_t maxn = std::max<int64_t>(1, *std::max_element(n.begin(), n.end()));
  Tensor send = Tensor::zeros({maxn}, dt), all = Tensor::empty({G * maxn}, dt);
  int64_t off = 0;
  for (size_t l = 0; l < outs.size(); ++l) {
    if (!is_local(l)) continue;
    MLCN_CHECK(outs[l].defined(), rank_prefix() << "lane " << l << " has no output to exchange");
    Tensor h = outs[l].to(Device::cpu());
    std::memcpy(static_cast<char*>(send.raw()) + off * es, h.raw(), h.nbytes());
    off += h.numel();
  }
  group_->allgather(send, all);
  std::vector<int64_t> at(G, 0);
  for (size_t l = 0; l < outs.size(); ++l) {
    const int o = owner_[l];
    const int64_t D = model_.lane(l).out_dim();
    if (o != group_->rank()) {
      outs[l] = Tensor::empty({cur_batch_, model_.spec().input.classes, D}, dt);
      std::memcpy(outs[l].raw(), static_cast<char*>(all.raw()) + (o * maxn + at[o]) * es, outs[l].nbytes());
    }
    at[o] += rows * D;
  }
  stats_.exchange_bytes += (G - 1) * maxn * static_cast<int64_t>(es);
  stats_.seconds += since(t0);
}

void DistRuntime::allreduce_grads(double scale, std::vector<double>& scalars) {
  const auto t0 = Clock::now();
  std::vector<Param*> ps;
  for (size_t l = 0; l < model_.num_lanes(); ++l)
    if (is_local(l))
      for (Param& p : model_.lane(l).params()) ps.push_back(&p);
  for (Param& p : model_.head().params()) ps.push_back(&p);
  int64_t total = static_cast<int64_t>(scalars.size());
  for (Param* p : ps) total += p->var->value.numel();
  const DType dt = model_.spec().lane.dtype;
  Tensor buf = Tensor::zeros({total}, dt);
  int64_t off = 0;
  MLCN_DISPATCH_FLOAT(dt, T, {
    T* b = buf.data<T>();
    for (Param* p : ps) {
      const Tensor& g = p->var->grad;
      if (g.defined()) {
        Tensor h = g.to(Device::cpu());
        const T* s = h.data<T>();
        for (int64_t i = 0; i < h.numel(); ++i) b[off + i] = static_cast<T>(s[i] * scale);
      }
      off += p->var->value.numel();
    }
    for (double v : scalars) b[off++] = static_cast<T>(v);
    cross_->allreduce_sum(buf);
    off = 0;
    for (Param* p : ps) {
      Tensor& g = p->var->grad;
      const int64_t n = p->var->value.numel();
      Tensor h = Tensor::empty(p->var->value.shape(), dt);
      std::memcpy(h.raw(), b + off, h.nbytes());
      if (!g.defined()) g = Tensor::zeros(p->var->value.shape(), dt, p->var->value.device());
      g.copy_from(h);
      off += n;
    }
    for (double& v : scalars) v = static_cast<double>(b[off++]);
  });
  stats_.allreduce_bytes += total * static_cast<int64_t>(dtype_size(dt));
  stats_.seconds += since(t0);
}

StepResult DistRuntime::step(const Tensor& x, const std::vector<int32_t>& labels, StepMode mode, double lr,
                             Rng* dropout_rng) {
  const int64_t B = x.dim(0);
  MLCN_CHECK(static_cast<int64_t>(labels.size()) == B, "step: " << labels.size() << " labels for a batch of " << B);
  ++stats_.steps;
  const bool clip = mode == StepMode::Train && clip_norm_ > 0;
  if (replicas_ == 1) {
    cur_batch_ = B;
    if (!clip) return rt_->step(x, labels, mode, lr, dropout_rng);
    StepResult r = rt_->step(x, labels, StepMode::Grad, lr, dropout_rng);
    update(lr, r);
    return r;
  }
  // This group's shard: rows [lo, hi) of the global batch.
  const int g = world_.rank() / group_->size();
  const int64_t lo = g * B / replicas_, hi = (g + 1) * B / replicas_, n = hi - lo;
  cur_batch_ = n;
  StepResult local;
  if (n > 0) {
    const int64_t per = x.numel() / B;
    Tensor xs = Tensor::empty({n, x.dim(1), x.dim(2), x.dim(3)}, x.dtype());
    std::memcpy(xs.raw(), static_cast<const char*>(x.raw()) + lo * per * dtype_size(x.dtype()), xs.nbytes());
    std::vector<int32_t> ls(labels.begin() + lo, labels.begin() + hi);
    local = rt_->step(xs, ls, mode == StepMode::Eval ? StepMode::Eval : StepMode::Grad, lr, dropout_rng);
  }
  const double w = double(n) / double(B);  // the loss is a mean over rows: shards weigh n/B
  std::vector<double> sc = {local.loss * w, local.margin * w, local.recon * w, double(local.correct)};
  if (mode == StepMode::Eval) {
    Tensor s = Tensor::empty({4}, DType::F64);
    for (int i = 0; i < 4; ++i) s.set(i, sc[i]);
    const auto t0 = Clock::now();
    cross_->allreduce_sum(s);
    stats_.seconds += since(t0);
    for (int i = 0; i < 4; ++i) sc[i] = s.item(i);
  } else {
    allreduce_grads(w, sc);
  }
  StepResult r;
  r.loss = sc[0], r.margin = sc[1], r.recon = sc[2], r.correct = static_cast<int64_t>(sc[3] + 0.5);
  if (mode == StepMode::Train) {
    update(lr, r);
    r.lengths = local.lengths;
    return r;
  }
  // Lengths of every shard: rows padded to ceil(B/R) per group, gathered across groups.
  const DType dt = model_.spec().lane.dtype;
  const size_t es = dtype_size(dt);
  const int64_t C = model_.spec().input.classes, rows = (B + replicas_ - 1) / replicas_;
  Tensor send = Tensor::zeros({rows * C}, dt), all = Tensor::empty({replicas_ * rows * C}, dt);
  if (n > 0) std::memcpy(send.raw(), local.lengths.to(dt).raw(), n * C * es);
  const auto t0 = Clock::now();
  cross_->allgather(send, all);
  stats_.seconds += since(t0);
  r.lengths = Tensor::empty({B, C}, dt);
  for (int q = 0; q < replicas_; ++q) {
    const int64_t qlo = q * B / replicas_, qn = (q + 1) * B / replicas_ - qlo;
    std::memcpy(static_cast<char*>(r.lengths.raw()) + qlo * C * es, static_cast<char*>(all.raw()) + q * rows * C * es,
                qn * C * es);
  }
  return r;
}

void DistRuntime::update(double lr, StepResult& r) {
  std::vector<Adam*> opts = rt_->optimizers();
  if (clip_norm_ > 0) {
    double lanes = 0;  // this rank's lanes; the group's other ranks hold the rest
    for (size_t l = 0; l < model_.num_lanes(); ++l)
      if (is_local(l)) lanes += grad_sum_squares(opts[l]->params());
    if (group_->size() > 1) {
      Tensor s = Tensor::empty({1}, DType::F64);
      s.set(0, lanes);
      group_->allreduce_sum(s);
      lanes = s.item(0);
    }
    r.grad_norm = std::sqrt(lanes + grad_sum_squares(opts.back()->params()));
    const double k = clip_factor(r.grad_norm, clip_norm_);
    if (k < 1) {
      for (size_t l = 0; l < model_.num_lanes(); ++l)
        if (is_local(l)) scale_grads(opts[l]->params(), k);
      scale_grads(opts.back()->params(), k);
    }
  }
  for (size_t l = 0; l < model_.num_lanes(); ++l)
    if (is_local(l)) opts[l]->step(lr);
  opts.back()->step(lr);
}

void DistRuntime::sync_for_checkpoint() {
  if (group_->size() == 1) return;
  std::vector<Adam*> opts = rt_->optimizers();
  const int64_t t = opts.back()->t();
  for (size_t l = 0; l < model_.num_lanes(); ++l) {
    Adam& o = *opts[l];
    for (size_t i = 0; i < o.params().size(); ++i) {
      group_->broadcast(o.params()[i]->var->value, owner_[l]);
      group_->broadcast(o.m()[i], owner_[l]);
      group_->broadcast(o.v()[i], owner_[l]);
    }
    o.set_t(t);
  }
}

}  // namespace mlcn
