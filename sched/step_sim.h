// Step-time simulator (spec §1.13): predicted time of one synchronous training step of a
// placement = slowest device (sum of its lanes' times) + the head's work + the exchange of
// v_l and dL/dv_l (2 * B * classes floats) for every lane not on the head device, plus the
// input batch broadcast to every other device that holds lanes, over one link of the given
// bandwidth (transfers serialised: an upper estimate).
#pragma once
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

}  // namespace mlcn
