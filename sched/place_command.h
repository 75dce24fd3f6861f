// `mlcn place`: argument parsing and the one JSON object it prints (the CLI's cmd_place is a
// thin wrapper). Arguments (those after `place`):
//   --lanes FILE | --config FILE   lanes file (sched/lane_io.h) or training config
//   --devices FILE                 device set (sched/devices.h)
//   --algo NAME                    random, random-iid, greedy, greedy-ect, kk, local-search, exact
//   [--seed N] [--time-limit S] [--model paper|flops|calibrated] [--calibration FILE]
// Output keys: algo, model, placement (device index per lane), load (per device), memory_bytes
// (per device), makespan, lower_bound, gap, optimal, step_time {lanes, head, comm, total},
// seconds, nodes, seed, devices (names). docs/sched.md documents them.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json, nlohmann::ordered_json

#include "sched/devices.h"     // defines: DeviceSet
#include "sched/lane_model.h"  // defines: LaneDesc

namespace mlcn {

std::string place_usage();
// Throws mlcn::Error with one clear line on bad arguments, files or placements. Under the
// paper model times are in Eq. (1) cost units, so the head and exchange terms are 0.
nlohmann::ordered_json run_place_command(const std::vector<std::string>& args);

// The value of runtime.placement in a training config: an array with one device index per
// lane (checked against the lanes, devices and memory), or the name of an algorithm, run on
// the given cost model ("paper", "flops") with `seed`. Returns a device index per lane.
std::vector<int> resolve_placement(const nlohmann::json& value, const std::vector<LaneDesc>& lanes,
                                   const DeviceSet& devices, const std::string& model = "paper",
                                   uint64_t seed = 1);

}  // namespace mlcn
