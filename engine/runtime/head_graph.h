// The head's training step on a GPU replayed from one CUDA graph: the lane outputs'
// concatenation, lane dropout, lengths, margin loss, mask by label, decoder, reconstruction loss,
// the backward to the lane outputs and the head's Adam update. The graph reads static inputs
// the runtime refreshes before each launch (each lane's output, the labels, the dropout scales
// and, unless it is the runtime's own device copy of the batch, the image) and leaves its
// results (losses, lengths, the lane outputs' gradients) in tensors at fixed addresses in its
// private pool, which the host reads once the step's streams have finished. Nothing inside waits
// for the host, so a whole training step on one GPU is graph launches only.
// Capture needs a warmed-up head (one eager training step at the batch size: cuBLAS
// workspaces, the optimizer's state); the graph serves that batch size and dropout setting only.
#pragma once
#include <functional>
#include <vector>

#include "engine/models/model.h"

namespace mlcn {

class HeadGraph {
 public:
  // stream: the head's stream, which the graph is captured from and replayed on.
  explicit HeadGraph(const Stream& stream);
  ~HeadGraph();
  HeadGraph(const HeadGraph&) = delete;
  HeadGraph& operator=(const HeadGraph&) = delete;

  // The head's forward: V (B, classes, D), labels (B) int32, scale (L) or undefined, images
  // (B, H, W, C), all on the head's GPU.
  using HeadFn = std::function<HeadResult(Tape&, const Var& V, const Tensor& labels, const Tensor& scale,
                                          const Tensor& images)>;
  // True when the captured graph serves these inputs (or nothing was captured yet).
  bool serves(const std::vector<Tensor>& outs, const Tensor& scale, const Tensor& images) const;
  // outs: each lane's output (B, classes, D_l), complete, on any device; labels (B) int32 on
  // the host (range checked); scale (L) float32 on the host or undefined; images (B, H, W, C) on
  // the head's GPU (then the same tensor every step) or on the host (copied in). Copies the
  // inputs in and calls advance() (the optimizer's, host side), then the first call captures
  // head() with its backward and apply() (the optimizer's apply, recorded for replay) and later
  // calls replay it. The result's tensors stay valid until the next run.
  const HeadResult& run(const std::vector<Tensor>& outs, const Tensor& labels, const Tensor& scale,
                        const Tensor& images, const HeadFn& head, const std::function<void()>& advance,
                        const std::function<void()>& apply);
  // The graph's lane outputs (B, classes, D_l); their ->grad is dL/d(output) after a run.
  const std::vector<Var>& gathered() const { return gathered_; }
  bool captured() const { return exec_ != nullptr; }

 private:
  Stream stream_;
  uint64_t pool_ = 0;
  void* exec_ = nullptr;
  std::vector<Var> gathered_;  // static lane outputs (inputs of the graph)
  Tensor labels_, scale_;      // static (B) int32, (L) float32 or undefined
  Tensor images_;              // static image: the runtime's buffer, or one of the graph's own
  bool own_images_ = false;
  Tensor one_;                 // the loss's seed (1), made before the capture
  Tape tape_;                  // the captured pass's tape: keeps its tensors alive
  HeadResult result_;
};

}  // namespace mlcn
