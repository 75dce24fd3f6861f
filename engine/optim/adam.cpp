// Adam optimizer; see adam.h. The update itself is the CPU twin or the fused CUDA kernel.
#include "engine/optim/adam.h"

#include <cmath>

#include "engine/cpu/adam.h"
#include "engine/ops/cuda_bridge.h"

namespace mlcn {

Adam::Adam(std::vector<Param*> params, double b1, double b2, double eps)
    : params_(std::move(params)), b1_(b1), b2_(b2), eps_(eps) {
  for (Param* p : params_) {
    const Tensor& w = p->var->value;
    m_.push_back(Tensor::zeros(w.shape(), w.dtype(), w.device()));
    v_.push_back(Tensor::zeros(w.shape(), w.dtype(), w.device()));
  }
}

void Adam::step(double lr) {
  ++t_;
  const double lr_t = lr * std::sqrt(1 - std::pow(b2_, double(t_))) / (1 - std::pow(b1_, double(t_)));
  for (size_t i = 0; i < params_.size(); ++i) {
    VarNode& p = *params_[i]->var;
    if (!p.grad.defined()) continue;
    if (m_[i].device() != p.value.device()) {  // the parameter moved (placement): move its state
      m_[i] = m_[i].to(p.value.device());
      v_[i] = v_[i].to(p.value.device());
    }
    const int64_t n = p.value.numel();
    if (p.value.device().is_cuda()) {
      cuda::adam_update(p.value.data<float>(), p.grad.data<float>(), m_[i].data<float>(), v_[i].data<float>(), n, lr_t,
                        b1_, b2_, eps_);
    } else {
      MLCN_DISPATCH_FLOAT(p.value.dtype(), T,
                          cpu::adam_update(p.value.data<T>(), p.grad.data<T>(), m_[i].data<T>(), v_[i].data<T>(), n,
                                           lr_t, b1_, b2_, eps_));
    }
    p.grad.zero_();
  }
}

}  // namespace mlcn
