// The report of `mlcn place` as a function: lanes, devices, cost model and algorithm in, one
// JSON object out (the CLI's cmd_place parses the arguments). Output keys: algo, model,
// placement (device index per lane), load (per device), memory_bytes (per device), makespan,
// lower_bound, gap, optimal, step_time {lanes, head, comm, total}, seconds, nodes, seed,
// devices (names). docs/sched.md documents them.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json, nlohmann::ordered_json

#include "sched/devices.h"     // defines: DeviceSet
#include "sched/lane_model.h"  // defines: LaneDesc

namespace mlcn {

struct PlaceRequest {
  std::vector<LaneDesc> lanes;
  DeviceSet devices;
  std::string algo;                // random, random-iid, greedy, greedy-ect, kk, local-search, exact
  std::string model = "paper";     // paper, flops or calibrated
  std::string calibration;         // calibration file (needed by the calibrated model)
  uint64_t seed = 1;
  double time_limit_s = 10;
};

// Throws mlcn::Error with one clear line on bad files or placements. Under the paper model
// times are in Eq. (1) cost units, so the head and exchange terms are 0.
nlohmann::ordered_json place_report(const PlaceRequest& request);

// The value of runtime.placement in a training config: an array with one device index per
// lane (checked against the lanes, devices and memory), or the name of an algorithm, run on
// the given cost model ("paper", "flops") with `seed`. Returns a device index per lane.
std::vector<int> resolve_placement(const nlohmann::json& value, const std::vector<LaneDesc>& lanes,
                                   const DeviceSet& devices, const std::string& model = "paper",
                                   uint64_t seed = 1);

}  // namespace mlcn
