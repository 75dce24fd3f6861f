// HeadGraph: refresh the static inputs, capture once, then replay; see head_graph.h.
#include "engine/runtime/head_graph.h"

#include "engine/core/backend.h"
#include "engine/ops/ops.h"
#include "engine/runtime/unit_graph.h"  // defines: capture_graph

namespace mlcn {

HeadGraph::HeadGraph(const Stream& stream) : stream_(stream), pool_(cuda().graph_pool_create()), tape_(stream) {}

HeadGraph::~HeadGraph() {
  cuda().graph_destroy(exec_);
  tape_.clear();
  result_ = HeadResult();
  gathered_.clear();
  labels_ = scale_ = images_ = one_ = Tensor();
  try {
    cuda().graph_pool_release(pool_, stream_.device);
  } catch (...) {  // a destructor must not throw; the memory stays cached
  }
}

bool HeadGraph::serves(const std::vector<Tensor>& outs, const Tensor& scale, const Tensor& images) const {
  if (!exec_) return true;
  if (outs.size() != gathered_.size() || scale.defined() != scale_.defined()) return false;
  for (size_t l = 0; l < outs.size(); ++l)
    if (outs[l].shape() != gathered_[l]->value.shape()) return false;
  if (own_images_) return images.device().is_cpu() && images.shape() == images_.shape();
  return images.raw() == images_.raw() && images.shape() == images_.shape();
}

const HeadResult& HeadGraph::run(const std::vector<Tensor>& outs, const Tensor& labels, const Tensor& scale,
                                 const Tensor& images, const HeadFn& head, const std::function<void()>& advance,
                                 const std::function<void()>& apply) {
  MLCN_CHECK(serves(outs, scale, images), "HeadGraph: replayed with other inputs than it captured");
  const Device dev = Device::cuda(stream_.device);
  if (gathered_.empty()) {  // the static inputs, outside the graph's pool
    for (const Tensor& o : outs) gathered_.push_back(make_var(Tensor::empty(o.shape(), o.dtype(), dev, stream_), true));
    labels_ = Tensor::empty(labels.shape(), DType::I32, dev, stream_);
    if (scale.defined()) scale_ = Tensor::empty(scale.shape(), scale.dtype(), dev, stream_);
    own_images_ = images.device().is_cpu();
    images_ = own_images_ ? Tensor::empty(images.shape(), images.dtype(), dev, stream_) : images;
    one_ = Tensor::full({1}, 1.0, DType::F32, dev, stream_);
  }
  for (size_t l = 0; l < outs.size(); ++l) gathered_[l]->value.copy_from(outs[l], stream_);
  labels_.copy_from(labels, stream_);
  if (scale.defined()) scale_.copy_from(scale, stream_);
  if (own_images_) images_.copy_from(images, stream_);
  advance();
  if (!exec_) {
    tape_.clear();
    tape_.grad_enabled = true;
    exec_ = capture_graph(stream_, pool_, [&] {
      Var V = concat_last(tape_, gathered_);
      result_ = head(tape_, V, labels_, scale_, images_);
      tape_.backward(std::vector<Var>{result_.loss}, std::vector<Tensor>{one_});
      apply();
    });
  }
  cuda().graph_launch(exec_, stream_);
  return result_;
}

}  // namespace mlcn
