// Adam optimizer; see adam.h. The update itself is the CPU twin or the fused CUDA kernel.
#include "engine/optim/adam.h"

#include <cmath>

#include "engine/cpu/adam.h"
#include "engine/core/backend.h"

namespace mlcn {

Adam::Adam(std::vector<Param*> params, double b1, double b2, double eps)
    : params_(std::move(params)), b1_(b1), b2_(b2), eps_(eps) {
  for (Param* p : params_) {
    const Tensor& w = p->var->value;
    m_.push_back(Tensor::zeros(w.shape(), w.dtype(), w.device()));
    v_.push_back(Tensor::zeros(w.shape(), w.dtype(), w.device()));
  }
}

Adam::~Adam() {
  if (pinned_rate_) cuda().pinned_free(pinned_rate_);
}

void Adam::step(double lr, const Stream& s) {
  advance(lr);
  apply(s);
}

void Adam::set_t(int64_t t) {
  MLCN_CHECK(t >= 0 && t <= (int64_t(1) << 40), "Adam: step count " << t << " is outside [0, 2^40]");
  t_ = t;
}

void Adam::set_weight_decay(double wd) {
  MLCN_CHECK(wd >= 0 && wd < 1e6, "Adam: weight decay " << wd << " must be in [0, 1e6)");
  weight_decay_ = wd;
}

void Adam::advance(double lr) {
  MLCN_CHECK(t_ < (int64_t(1) << 40), "Adam: step count " << t_ << " cannot advance past 2^40");
  ++t_;
  lr_t_ = lr * std::sqrt(1 - std::pow(b2_, double(t_))) / (1 - std::pow(b1_, double(t_)));
  keep_ = 1 - lr * weight_decay_;
  if (pinned_rate_) pinned_rate_[0] = float(lr_t_), pinned_rate_[1] = float(keep_);
}

void Adam::apply(const Stream& s, bool for_replay) {
  bool any_cuda = false;
  for (size_t i = 0; i < params_.size(); ++i) {
    VarNode& p = *params_[i]->var;
    if (!p.grad.defined()) continue;
    if (m_[i].device() != p.value.device()) {  // the parameter moved (placement): move its state
      const Stream ms = p.value.device().is_cuda() ? stream_for(s, p.value.device()) : Stream{};
      m_[i] = m_[i].to(p.value.device(), ms);
      v_[i] = v_[i].to(p.value.device(), ms);
    }
    if (p.value.device().is_cuda()) {
      any_cuda = true;
      continue;
    }
    MLCN_DISPATCH_FLOAT(p.value.dtype(), T,
                        cpu::adam_update(p.value.data<T>(), p.grad.data<T>(), m_[i].data<T>(), v_[i].data<T>(),
                                         p.value.numel(), lr_t_, b1_, b2_, eps_, keep_));
    p.grad.zero_();
  }
  if (any_cuda) apply_cuda(s, for_replay);
}

void Adam::apply_cuda(const Stream& s, bool for_replay) {
  std::vector<AdamSlice> slices;
  Device dev;
  for (size_t i = 0; i < params_.size(); ++i) {
    VarNode& p = *params_[i]->var;
    if (!p.grad.defined() || !p.value.device().is_cuda()) continue;
    MLCN_CHECK(slices.empty() || p.value.device() == dev,
               "Adam: parameters on " << dev.str() << " and " << p.value.device().str() << " in one optimizer");
    dev = p.value.device();
    slices.push_back({p.value.data<float>(), p.grad.data<float>(), m_[i].data<float>(), v_[i].data<float>(),
                      p.value.numel()});
  }
  const Stream st = stream_for(s, dev);
  if (!pinned_rate_) pinned_rate_ = static_cast<float*>(cuda().pinned_alloc(2 * sizeof(float)));
  if (!device_rate_.defined() || device_rate_.device() != dev) device_rate_ = Tensor::empty({2}, DType::F32, dev, st);
  pinned_rate_[0] = float(lr_t_), pinned_rate_[1] = float(keep_);
  // For replay: the copy reads the pinned values at replay time (advance() rewrote them). Eager: a
  // copy from pageable memory is staged before it returns, so the next advance() cannot race it.
  const float rate[2] = {float(lr_t_), float(keep_)};
  cuda().copy(st, device_rate_.data<float>(), dev.index, for_replay ? pinned_rate_ : rate, -1, 2 * sizeof(float));
  cuda().adam_update_many(st, slices.data(), int(slices.size()), device_rate_.data<float>(), b1_, b2_, eps_);
}

}  // namespace mlcn
