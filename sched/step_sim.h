// Step-time simulator (spec §1.13): predicted time of one synchronous training step of a
// placement = slowest device (sum of its lanes' times) + the head's work + the exchange of
// v_l and dL/dv_l (2 * B * classes floats) for every lane not on the head device, plus the
// input batch broadcast to every other device that holds lanes, over one link of the given
// bandwidth (transfers serialised: an upper estimate).
// Distributed steps (docs/distributed.md): ring collectives over links of a latency and a
// bandwidth; model parallelism = slowest device's lanes + the head (on every rank) + the ring
// all-gather of the lane outputs; data parallelism = the step of one shard + the ring
// all-reduce of every gradient (not overlapped with the backward, as the engine runs it).
#pragma once
#include <string>
#include <vector>

#include "sched/placement.h"  // defines: PlacementProblem

namespace mlcn {

struct StepTimeParams {
  int head_device = 0;
  double head_seconds = 0;       // head forward + backward + update (CostModel::head_time)
  double link_bytes_per_s = 0;   // 0: communication is free
  int batch = 100;
  int classes = 10;
  double input_floats_per_sample = 0;  // H*W*C; 0 leaves the broadcast out
};

struct StepTime {
  double lanes = 0;  // makespan of the lane work
  double head = 0;
  double comm = 0;
  double total = 0;
  double comm_bytes = 0;
};

StepTime simulate_step(const PlacementProblem& p, const std::vector<int>& device,
                       const StepTimeParams& params);

// A link between ranks: time(bytes) = latency + bytes / bandwidth per message.
struct Link {
  std::string name;
  double latency_s = 0;
  double bytes_per_s = 0;
};
// Ring all-reduce of `bytes` on n ranks: 2 (n-1) messages of bytes / n each.
double ring_allreduce_seconds(double bytes, int n, const Link& link);
// Ring all-gather of `bytes_per_rank` from each of n ranks: n-1 messages of that size.
double ring_allgather_seconds(double bytes_per_rank, int n, const Link& link);

struct DistStepTime {
  double compute = 0, comm = 0, total = 0;
  double comm_bytes = 0;  // sent by one rank per step
};
// Model parallel on n identical devices: lane_seconds per lane (one device, batch B) placed
// longest-first on the least-loaded device; head_seconds runs on every device after the
// all-gather of out_bytes[l] = B * classes * D_l * 4 per lane.
DistStepTime simulate_model_parallel(const std::vector<double>& lane_seconds, const std::vector<double>& out_bytes,
                                     double head_seconds, int n, const Link& link);
// Data parallel on n devices: one shard's step fixed_seconds + per_sample_seconds * B / n,
// then the all-reduce of param_bytes.
DistStepTime simulate_data_parallel(double fixed_seconds, double per_sample_seconds, int batch, double param_bytes, int n,
                                    const Link& link);

}  // namespace mlcn
