// Adam over a list of parameters (Keras 2.2 defaults: b1 0.9, b2 0.999, eps 1e-7) with the
// per-epoch exponential learning-rate decay lr(e) = lr0 * decay^e (spec 1.10). State (m, v, t)
// lives on each parameter's device; step() zeroes the gradients it consumed.
#pragma once
#include <vector>

#include "engine/models/param.h"

namespace mlcn {

class Adam {
 public:
  explicit Adam(std::vector<Param*> params, double b1 = 0.9, double b2 = 0.999, double eps = 1e-7);
  // One update with learning rate lr; parameters without a gradient are skipped.
  void step(double lr);
  int64_t t() const { return t_; }
  void set_t(int64_t t) { t_ = t; }
  std::vector<Tensor>& m() { return m_; }
  std::vector<Tensor>& v() { return v_; }
  const std::vector<Param*>& params() const { return params_; }

 private:
  std::vector<Param*> params_;
  std::vector<Tensor> m_, v_;
  double b1_, b2_, eps_;
  int64_t t_ = 0;
};

}  // namespace mlcn
