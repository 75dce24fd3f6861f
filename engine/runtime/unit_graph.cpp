// UnitGraph: capture once, then refresh the static inputs and replay; see unit_graph.h.
#include "engine/runtime/unit_graph.h"

#include "engine/core/backend.h"

namespace mlcn {

void* capture_graph(const Stream& s, uint64_t pool, const std::function<void()>& body) {
  cuda().capture_begin(s, pool);
  try {
    body();
    return cuda().capture_end(s);
  } catch (...) {
    cuda().capture_abort(s);
    throw;
  }
}

UnitGraph::UnitGraph(const Stream& stream) : stream_(stream), pool_(cuda().graph_pool_create()), tape_(stream) {}

UnitGraph::~UnitGraph() {
  cuda().graph_destroy(fwd_);
  cuda().graph_destroy(bwd_);
  tape_.clear();
  outs_.clear();
  seeds_.clear();
  x_ = Tensor();
  try {
    cuda().graph_pool_release(pool_, stream_.device);
  } catch (...) {  // a destructor must not throw; the memory stays cached
  }
}

const std::vector<Var>& UnitGraph::forward(const Tensor& x, const ForwardFn& fwd) {
  if (!fwd_) {
    x_ = x;
    Var xv = make_var(x_, false);
    tape_.clear();
    tape_.grad_enabled = true;
    fwd_ = capture_graph(stream_, pool_, [&] { outs_ = fwd(tape_, xv); });
  } else {
    MLCN_CHECK(x.data<float>() == x_.data<float>() && x.shape() == x_.shape(),
               "UnitGraph: replayed with another input than the captured " << shape_str(x_.shape()));
  }
  cuda().graph_launch(fwd_, stream_);
  return outs_;
}

void UnitGraph::backward(const std::vector<Tensor>& grads, const std::function<void()>& advance,
                         const std::function<void()>& apply) {
  MLCN_CHECK(fwd_ && grads.size() == outs_.size(), "UnitGraph: backward needs the captured forward's " << outs_.size()
                                                                                                       << " gradients");
  if (seeds_.empty())
    for (const Var& o : outs_)
      seeds_.push_back(Tensor::empty(o->value.shape(), o->value.dtype(), o->value.device(), stream_));
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].defined()) seeds_[i].copy_from(grads[i], stream_);
    else seeds_[i].zero_(stream_);
  }
  advance();
  if (!bwd_)
    bwd_ = capture_graph(stream_, pool_, [&] {
      tape_.backward(outs_, seeds_);
      apply();
    });
  cuda().graph_launch(bwd_, stream_);
}

}  // namespace mlcn
