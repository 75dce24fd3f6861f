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

#include <nlohmann/json.hpp>  // defines: nlohmann::json

namespace mlcn {

std::string place_usage();
// Throws mlcn::Error with one clear line on bad arguments, files or placements.
nlohmann::json run_place_command(const std::vector<std::string>& args);

}  // namespace mlcn
