// A GPU unit's training step (one lane, or a lane group) replayed from two CUDA graphs: the
// forward (image -> lane outputs) and the backward with the Adam updates (lane output
// gradients -> updated parameters). Each graph reads a static input refreshed before it is
// launched (the image, by the runtime; the output gradients, here) and writes tensors that stay
// alive, at fixed addresses, in the graph's private memory pool. The Adam step size is copied from pinned host
// memory inside the graph, so the host only advances each optimizer before a replay.
// Capture needs a warmed-up unit: one eager step first (cuDNN algorithm search, cuBLAS
// workspaces, optimizer state). The captured batch size is the only one the graphs serve.
#pragma once
#include <functional>
#include <vector>

#include "engine/core/autograd.h"

namespace mlcn {

// Runs body() inside a capture of stream s into `pool`; returns the instantiated graph. A
// failed capture is ended before the error propagates, so the stream stays usable.
void* capture_graph(const Stream& s, uint64_t pool, const std::function<void()>& body);

class UnitGraph {
 public:
  // stream: the unit's stream, which the graphs are captured from and replayed on.
  explicit UnitGraph(const Stream& stream);
  ~UnitGraph();
  UnitGraph(const UnitGraph&) = delete;
  UnitGraph& operator=(const UnitGraph&) = delete;

  using ForwardFn = std::function<std::vector<Var>(Tape&, const Var& x)>;
  // x: (B, H, W, C) on the device, the runtime's static input for this batch size (same address
  // every step; the caller refreshes its contents before calling). The first call captures fwd
  // (run once as the capture is launched); later calls replay it.
  const std::vector<Var>& forward(const Tensor& x, const ForwardFn& fwd);
  // grads: one (B, classes, D_l) per output, on any device (or undefined: zero). Copies them in
  // and calls advance() (the optimizers' advance(): host side only), then the first call captures
  // the backward followed by apply() (the optimizers' apply()) and later calls replay it.
  // A capture that fails throws (the stream stays usable; the unit's state does not).
  void backward(const std::vector<Tensor>& grads, const std::function<void()>& advance,
                const std::function<void()>& apply);
  bool captured() const { return bwd_ != nullptr; }
  int64_t batch() const { return x_.defined() ? x_.dim(0) : -1; }

 private:
  Stream stream_;
  uint64_t pool_ = 0;
  void* fwd_ = nullptr;
  void* bwd_ = nullptr;
  Tensor x_;                   // the static input (B, H, W, C) it was captured with
  std::vector<Tensor> seeds_;  // static output gradients
  Tape tape_;                  // the captured forward's tape (on stream_): keeps its activations alive
  std::vector<Var> outs_;
};

}  // namespace mlcn
