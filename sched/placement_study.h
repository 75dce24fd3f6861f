// The heterogeneous-lanes placement study behind bench/fig8_hetero_lanes (identical devices)
// and bench/fig9_hetero_devices (mixed speeds), after the paper's Fig. 8 and 9: random
// networks of n lanes with (w, d) drawn uniformly in 1..5 (valid and fitting a device only),
// placed by every algorithm; per size, the mean predicted makespan, the gap to the proven
// optimum (mean, max), how often an algorithm is worse than greedy, and the time taken.
// `random` and `random-iid` are averaged over `random_seeds` seeds per network.
// A measured column is filled by an optional callback that runs a placement for real.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sched/devices.h"     // defines: DeviceSet
#include "sched/lane_model.h"  // defines: LaneDesc

namespace mlcn {

struct StudyConfig {
  std::string title;
  std::vector<int> sizes = {6, 9, 12, 24};
  int networks = 50;       // random networks per size
  int random_seeds = 10;   // seeds per network for random / random-iid
  int max_width = 5, max_depth = 5;
  std::string dataset = "fashion-mnist";
  int batch = 100;
  std::string model = "paper";  // paper | flops
  bool memory = true;           // respect the devices' memory
  DeviceSet devices;
  double time_limit_s = 10;     // exact, per network
  uint64_t seed = 1;
  std::vector<std::string> algos = {"random", "random-iid", "greedy", "greedy-ect",
                                    "kk", "local-search", "exact"};
};

// Seconds of one training step of `lanes` placed as `placement` (device index per lane) on
// real devices; supplied by a caller that links the engine's lane runtime.
using MeasureFn = std::function<double(const std::vector<LaneDesc>& lanes, const DeviceSet& devices,
                                       const std::vector<int>& placement)>;

struct AlgoStats {
  std::string algo;
  double makespan = 0;     // mean predicted makespan
  double step_time = 0;    // mean predicted step time (makespan + head + exchange)
  double gap_mean = 0;     // mean of makespan / optimum - 1
  double gap_max = 0;
  int worse_than_greedy = 0;  // networks where it is above greedy (random: mean over seeds)
  int at_optimum = 0;         // networks where it reaches the optimum (within 1e-9)
  double seconds = 0;      // mean wall time of the algorithm
  double seconds_max = 0;
  double measured = -1;    // mean measured step seconds (-1: not measured)
  int runs = 0;            // networks it ran on (kk skips mixed speeds)
};

struct SizeResult {
  int lanes = 0;
  int networks = 0;
  int proven = 0;          // networks where exact proved the optimum
  double lb_gap_max = 0;   // largest optimum / root lower bound - 1
  std::vector<AlgoStats> algos;
};

// Draws a network of n mlcn1 lanes; (w, d) uniform among those valid for the dataset and,
// when cfg.memory, fitting the largest device.
std::vector<LaneDesc> random_network(int n, const StudyConfig& cfg, uint64_t seed);

std::vector<SizeResult> run_study(const StudyConfig& cfg, const MeasureFn& measure = nullptr);
std::string format_study(const StudyConfig& cfg, const std::vector<SizeResult>& results);

// Bench options: --networks N --seeds N --model paper|flops --dataset NAME --memory on|off
// --time-limit S --seed N --sizes 6,9,12,24 --batch N. Fills cfg; throws on unknown options.
void parse_study_args(const std::vector<std::string>& args, StudyConfig* cfg);

}  // namespace mlcn
