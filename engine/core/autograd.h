// Reverse-mode autograd: Var (a value with an optional gradient) and Tape (the backward
// closures of one lane or of the head, recorded in forward order, run in reverse).
// Conventions shared by every op:
// - an op computes its forward eagerly and, if any input requires a gradient, records one
//   closure on the tape of its output;
// - backward closures ACCUMULATE (+=) into input gradients, so parameters shared across
//   uses and gradients of several steps add up until the optimizer zeroes them;
// - one tape per lane and one for the head: nothing on a lane's tape refers to another lane.
// - a tape is the device context of its work: on a GPU, every op recorded on it, its backward
//   closures and the memory they allocate run on the tape's stream (one stream per lane unit);
//   a tape without a stream uses the setup stream of its tensors' device.
// Tape::clear() drops the closures (and with them the activations they saved, whose memory
// goes back to the caching allocator); the closure vector keeps its capacity step to step.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace mlcn {

struct VarNode {
  Tensor value;
  Tensor grad;  // allocated (zeroed) on first accumulation
  bool requires_grad = false;
  // The gradient buffer, created zeroed with the value's shape/dtype/device if absent (on a
  // GPU: allocated and zeroed on stream s).
  Tensor& grad_buffer(const Stream& s = {}) {
    if (!grad.defined()) grad = Tensor::zeros(value.shape(), value.dtype(), value.device(), s);
    return grad;
  }
};
using Var = std::shared_ptr<VarNode>;

// A Var that is an input or constant (no gradient) or a leaf parameter (gradient).
inline Var make_var(Tensor value, bool requires_grad = false) {
  auto v = std::make_shared<VarNode>();
  v->value = std::move(value);
  v->requires_grad = requires_grad;
  return v;
}

class Tape {
 public:
  Tape() { closures_.reserve(256); }
  explicit Tape(const Stream& s) : Tape() { stream_ = s; }
  void record(std::function<void()> backward) { closures_.push_back(std::move(backward)); }
  // Seeds d(out) with `seed` (same shape as out; accumulated) and runs every closure in reverse.
  void backward(const Var& out, const Tensor& seed);
  // Several outputs of one tape (a lane group), each with its seed.
  void backward(const std::vector<Var>& outs, const std::vector<Tensor>& seeds);
  // For a scalar loss: seeds with 1.
  void backward(const Var& loss);
  void clear() { closures_.clear(); }
  size_t size() const { return closures_.size(); }
  // When false, ops record nothing (evaluation).
  bool grad_enabled = true;
  // The stream GPU work recorded on this tape runs on (unchosen: the setup stream).
  const Stream& stream() const { return stream_; }
  void set_stream(const Stream& s) { stream_ = s; }
  // The stream for work on tensor x: the tape's own stream (which must be on x's device), the
  // setup stream of x's device when the tape has none, nothing for CPU tensors.
  Stream stream_for(const Tensor& x) const {
    return x.device().is_cuda() ? mlcn::stream_for(stream_, x.device()) : Stream{};
  }

 private:
  std::vector<std::function<void()>> closures_;
  Stream stream_;
};

// True when the op must record a closure: gradients are enabled and some input needs one.
inline bool needs_grad(const Tape& t, std::initializer_list<const Var*> inputs) {
  if (!t.grad_enabled) return false;
  for (const Var* v : inputs)
    if (*v && (*v)->requires_grad) return true;
  return false;
}

}  // namespace mlcn
