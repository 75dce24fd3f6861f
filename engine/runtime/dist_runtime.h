// Training across ranks (docs/distributed.md): R replica groups of G ranks each (world = R * G).
// Inside a group the lanes are placed over the devices of all its ranks (model parallelism):
// every rank reads the same batch, runs its lanes' forward, the lane outputs (B, classes, D_l)
// are all-gathered over the group, and every rank computes the head identically, so each has
// dL/dv for its own lanes and the head's parameters stay equal without communicating them.
// Across groups (data parallelism) the global batch is split into shards of B/R rows, and the
// gradients (this rank's lanes and the head, weighted by shard/B) are summed with one
// all-reduce per step over the ranks holding the same lanes, followed by identical Adam updates.
// runtime.mode "model": R = runtime.replicas (default 1); "data": G = 1, R = every rank.
// One process (the local communicator) is exactly the LaneRuntime.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/comm/comm.h"
#include "engine/runtime/lane_runtime.h"

namespace mlcn {

struct DistOptions {
  std::string mode = "model";  // model | data
  int replicas = 0;            // replica groups (model mode); 0: 1
  // lane -> device over the group's devices, numbered rank by rank; empty: round-robin.
  std::vector<int> placement;
  // > 0: training steps clip the gradients of all lanes and the head to this global L2 norm
  // (engine/optim/grad_clip.h) before the optimizers run; the lanes' updates then follow the
  // backward instead of overlapping it, and CUDA graphs are not replayed.
  double clip_norm = 0;
};

// Communication of one rank, summed over the steps run so far.
struct CommStats {
  int64_t steps = 0;
  int64_t exchange_bytes = 0;   // lane outputs received (all-gather inside the group)
  int64_t allreduce_bytes = 0;  // gradient payload all-reduced across groups
  double seconds = 0;           // wall time inside collectives
};

class DistRuntime {
 public:
  // local: this rank's devices, threads and flags (its placement is replaced by the global one).
  DistRuntime(Model& model, RuntimeOptions local, const DistOptions& dist, Comm& world);
  ~DistRuntime();
  // x: (B, H, W, C) the global batch, the same on every rank; labels (B). The result is the
  // global batch's on every rank (lengths (B, classes) except in Train mode with several
  // groups, where they are this group's shard's rows).
  StepResult step(const Tensor& x, const std::vector<int32_t>& labels, StepMode mode, double lr, Rng* dropout_rng);
  std::vector<Adam*> optimizers() { return rt_->optimizers(); }
  // Collective: every lane's parameters and Adam state reach every rank (before a checkpoint).
  void sync_for_checkpoint();
  bool writer() const { return world_.rank() == 0; }
  int replicas() const { return replicas_; }
  int group_size() const { return group_->size(); }
  int group_devices() const { return static_cast<int>(device_offset_.back()); }
  const std::vector<int>& placement() const { return placement_; }  // lane -> group device
  bool is_local(size_t lane) const { return owner_[lane] == group_->rank(); }
  LaneRuntime& local() { return *rt_; }
  const CommStats& stats() const { return stats_; }

 private:
  void exchange(std::vector<Tensor>& outs);
  // Sums the gradients of this rank's lanes and the head (scaled by `scale`) and `scalars`
  // across groups, in one all-reduce.
  void allreduce_grads(double scale, std::vector<double>& scalars);
  // After the gradients of a training step are final: clips them (clip_norm > 0; the norm goes
  // into r.grad_norm), then runs the optimizers of this rank's lanes and the head.
  void update(double lr, StepResult& r);
  Model& model_;
  Comm& world_;
  std::unique_ptr<Comm> group_, cross_;
  int replicas_ = 1;
  double clip_norm_ = 0;
  std::vector<int64_t> device_offset_;  // group rank -> first device index; back(): total
  std::vector<int> placement_, owner_;  // lane -> group device / group rank
  std::unique_ptr<LaneRuntime> rt_;
  int64_t cur_batch_ = 0;
  CommStats stats_;
};

// The replica-group count a config asks for on `world_size` ranks (checks divisibility).
int replica_groups(const std::string& mode, int replicas, int world_size);

}  // namespace mlcn
