// The lane runtime: one training step of a model whose lanes are placed on devices.
// Each lane has its own tape; the lanes of a device run on that device's worker while other
// devices run theirs; the head gathers the lane outputs (B, classes, D_l), computes the losses,
// back-propagates, and scatters dL/dv_l back; each device then finishes its lanes' backward
// and applies Adam to their parameters (design.md, "Data flow of one training step").
// A CUDA device is driven by its own host worker; each unit on it has its own CUDA stream, owned
// by the unit's tape (every op, gradient and optimizer update of the unit runs there), so units
// of one GPU overlap. Each step first orders every stream after the device's setup stream.
// Events order the head's gather after the units' forwards and the units' backwards after the
// head when they share the GPU (the host only queues work); units elsewhere are waited for by
// the host. The step ends by waiting for the units' streams (never for a whole device), so the
// next step starts from finished work; only then does the host read the head's losses and
// class lengths (device tensors on a GPU), so it never waits in the middle of a step.
// A unit is one lane, or (group_lanes) all lanes of one device with the same shape run as one
// LaneGroup: one tape, one stream, one convolution per trunk stage for all of them.
// With cuda_graphs, a GPU unit's training step is captured after one eager step and replayed
// from CUDA graphs (unit_graph.h), and so is a GPU head's (head_graph.h); other modes and batch
// sizes run eagerly.
#pragma once
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "base/rng.h"
#include "engine/models/model.h"
#include "engine/optim/adam.h"
#include "engine/runtime/cpu_worker.h"

namespace mlcn {

enum class StepMode {
  Train,  // forward, backward, lane dropout, Adam update
  Grad,   // forward and backward (mask by label; lane dropout only when given an rng), gradients kept, no update
  Eval    // forward only, mask by argmax
};

struct StepResult {
  double loss = 0, margin = 0, recon = 0;
  Tensor lengths;  // (B, classes), host
  Tensor recon_images;  // (B, H*W*C) host, the decoder's output; StepMode::Eval only
  int64_t correct = 0;
  double grad_norm = 0.0 / 0.0;  // global gradient norm before clipping (DistRuntime, clip_norm > 0); else NaN
};

// runtime.cpu_devices = 0: lanes are the unit of parallelism on the CPU. Every lane's forward and
// backward runs whole on one single-thread worker (one per thread, at most one per lane), so no
// small op is split over threads with a barrier after it, and a core taken by another process
// delays only its own lanes. A single lane (CapsNet) keeps one worker with every thread.
inline int auto_cpu_devices(int threads, size_t lanes) {
  const int n = static_cast<int>(std::min<size_t>(lanes, static_cast<size_t>(threads < 1 ? 1 : threads)));
  return n < 1 ? 1 : n;
}

struct RuntimeOptions {
  int cpu_devices = 1;          // CPU workers (when `devices` is empty)
  int threads_per_device = 1;   // OpenMP width of each worker
  std::vector<int> placement;   // lane -> device index (empty: round-robin)
  int head_device = 0;          // index into the devices
  std::vector<Device> devices;  // explicit devices (cpu:k or cuda:k); empty: cpu_devices CPU workers
  bool group_lanes = false;     // same-shape lanes of a device run as one LaneGroup
  bool cuda_graphs = false;     // GPU units replay their training step from CUDA graphs
  // Model parallelism across ranks (engine/runtime/dist_runtime.h): placement -1 marks a lane
  // another rank runs; before the head, exchange gets every lane's output (B, classes, D_l),
  // this rank's defined and complete, and fills in the others.
  std::function<void(std::vector<Tensor>&)> exchange = nullptr;
};

class HeadGraph;

class LaneRuntime {
 public:
  LaneRuntime(Model& model, const RuntimeOptions& opt);
  ~LaneRuntime();
  // x: (B, H, W, C) host float32 in [0, 1]; labels (B).
  StepResult step(const Tensor& x, const std::vector<int32_t>& labels, StepMode mode, double lr, Rng* dropout_rng);
  const std::vector<int>& placement() const { return placement_; }
  std::vector<Adam*> optimizers();  // lane optimizers in lane order, then the head's
  const std::vector<Device>& devices() const { return devices_; }
  Device head_device() const { return devices_[head_device_]; }
  // The units in execution order, as lane indices (a group lists several).
  std::vector<std::vector<size_t>> units() const;
  // Units whose training step now replays from CUDA graphs.
  size_t graph_units() const;
  // True when the head's training step now replays from a CUDA graph.
  bool head_graphed() const;

 private:
  struct Unit;
  // Runs fn(unit) for every unit of every device, devices in parallel; then either waits for
  // the units' streams (wait: the results are complete when this returns) or records each
  // unit's event after its work.
  void run_on_devices(const std::function<void(Unit&)>& fn, bool wait);
  // True when unit u and the head share a GPU (their streams are ordered by events).
  bool on_head_gpu(const Unit& u) const;
  Model& model_;
  RuntimeOptions opt_;
  std::vector<Device> devices_;
  std::vector<std::unique_ptr<CpuWorker>> workers_;
  std::vector<std::unique_ptr<Unit>> units_;
  Stream head_stream_;          // the head's tape and optimizer work (head on a GPU)
  void* head_event_ = nullptr;  // recorded after the head's backward and update
  // Per GPU device with units: the batch copied in once per step (one buffer per batch size, so
  // graphs keep their input address) and the event recorded after the copy.
  std::map<std::pair<int, int64_t>, Tensor> device_input_;
  std::map<int, void*> input_event_;
  std::vector<int> placement_;
  int head_device_ = 0;
  Tape head_tape_;
  std::pair<int64_t, bool> head_warm_{-1, false};  // (batch, dropout) of the last eager training head
  std::unique_ptr<HeadGraph> head_graph_;
  std::vector<std::unique_ptr<Adam>> lane_opt_;
  std::unique_ptr<Adam> head_opt_;
};

}  // namespace mlcn
