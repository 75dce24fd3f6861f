// Adam over a list of parameters (Keras 2.2 defaults: b1 0.9, b2 0.999, eps 1e-7; spec 1.10),
// with optional decoupled weight decay (AdamW: p <- (1 - lr wd) p before the Adam step, lr the
// scheduled rate of this step, engine/optim/lr_schedule.h). State (m, v, t)
// lives on each parameter's device; step() zeroes the gradients it consumed. On a GPU the
// update of every parameter is one fused launch on the caller's stream whose step size is read
// from device memory. The optimizer does not know about graphs: the caller says when an apply()
// is recorded for replay (for_replay), and then the step size is copied from pinned host memory,
// which each replay reads after advance() rewrote it.
#pragma once
#include <vector>

#include "engine/models/param.h"

namespace mlcn {

class Adam {
 public:
  explicit Adam(std::vector<Param*> params, double b1 = 0.9, double b2 = 0.999, double eps = 1e-7);
  ~Adam();
  Adam(const Adam&) = delete;
  Adam& operator=(const Adam&) = delete;
  // One update with learning rate lr: advance(lr), then apply(s). s: the stream of the GPU
  // parameters' work (unchosen: their device's setup stream).
  void step(double lr, const Stream& s = {});
  // Counts the step and stages its rate lr_t = lr sqrt(1-b2^t)/(1-b1^t) and the decay factor
  // 1 - lr wd (also in pinned host memory, which a captured apply() copies from when replayed).
  void advance(double lr);
  // The update with the staged rate on stream s; parameters without a gradient are skipped.
  // for_replay: the work is being recorded (a CUDA graph) and replayed after later advance()s.
  void apply(const Stream& s = {}, bool for_replay = false);
  int64_t t() const { return t_; }
  // Decoupled weight decay wd >= 0 (0: plain Adam), for every parameter of this optimizer.
  void set_weight_decay(double wd);
  // t must lie in [0, 2^40] (a checkpoint with another value is refused before this).
  void set_t(int64_t t);
  std::vector<Tensor>& m() { return m_; }
  std::vector<Tensor>& v() { return v_; }
  const std::vector<Param*>& params() const { return params_; }

 private:
  void apply_cuda(const Stream& s, bool for_replay);  // the parameters on a GPU (all on one device), one launch
  std::vector<Param*> params_;
  std::vector<Tensor> m_, v_;
  double b1_, b2_, eps_;
  int64_t t_ = 0;
  double lr_t_ = 0, weight_decay_ = 0, keep_ = 1;  // keep = 1 - lr wd of the staged step
  float* pinned_rate_ = nullptr;  // pinned host copy of (lr_t, keep) (GPU parameters only)
  Tensor device_rate_;            // (2) float32 on the parameters' GPU: lr_t, keep
};

}  // namespace mlcn
