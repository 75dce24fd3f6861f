// What the bucket-filling NAS searches over (spec §4.4): the buckets (devices with a memory
// limit, a load limit and a speed), the lane family (type, width and depth ranges, input
// shape, batch, routings) and the sched/ models that price a lane (CostModel for the load,
// the analytic memory bound for the memory). Load is the CostModel's lane time; a bucket's
// load limit is usually given as a multiple of the load of a reference model (the paper:
// 4 lanes of width 2 and depth 4) on a speed-1 device.
#pragma once
#include <string>
#include <vector>

#include "sched/cost_model.h"  // defines: CostModel
#include "sched/devices.h"     // defines: DeviceSet
#include "sched/lane_model.h"  // defines: LaneDesc, MemoryModelParams

namespace mlcn {

struct Bucket {
  std::string name;
  double memory_bytes = 0;  // limit on the summed lane memory bound (> 0)
  double load_limit = 0;    // limit on the summed lane time on this bucket (> 0), cost-model units
  double speed = 1;         // relative speed: a lane's load here is its speed-1 time / speed
};

struct SearchSpace {
  std::string lane_type = "mlcn1";
  int width_min = 1, width_max = 5;
  int depth_min = 1, depth_max = 5;
  LaneDesc shape;  // H, W, C, classes, batch, routings of every generated lane
  CostModel cost = CostModel::paper();
  MemoryModelParams memory;
  double flops_per_speed = 1e12;  // of the device set handed to the step-time simulator
  std::vector<Bucket> buckets;
};

// A lane of the space's family with the given width and depth.
LaneDesc space_lane(const SearchSpace& s, int width, int depth);
// Summed lane time of `lanes` on a speed-1 device under the space's cost model.
double model_load(const SearchSpace& s, const std::vector<LaneDesc>& lanes);
// The buckets as a sched DeviceSet (speed, memory), head on bucket 0, free links.
DeviceSet bucket_devices(const SearchSpace& s);
// Throws mlcn::Error naming the bucket or range that is not usable.
void check_space(const SearchSpace& s);

}  // namespace mlcn
