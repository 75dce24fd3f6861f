// What the Fig. 10-13 benchmarks share: a sweep of NAS searches that differ in one setting,
// each run (or resumed) in its own directory, their table, the benchmarks' arguments and the
// reduced CPU scale. The CPU scale divides the paper's memory and load limits by 32 and the
// bucket counts by 4 and shrinks data and training (cpu_scale_overrides lists every key), so
// a figure runs in minutes on a 2-core CPU; --scale paper keeps configs/nas-paper.json as is.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::ordered_json

namespace mlcn {

struct SweepSetting {
  std::string label;                   // also the run directory's name under the sweep's root
  std::vector<std::string> overrides;  // "--set" values of this setting
};

struct SweepResult {
  std::string label, dir;
  nlohmann::ordered_json summary;  // the search's summary.json
  double wall_seconds = 0;
};

struct BenchArgs {
  bool paper = false;              // --scale paper
  std::vector<std::string> sets;   // --set key=value and --seed N (as nas.seed=N, train.seed=N), in
                                   // command-line order, applied after the scale and the setting
  std::string out;                 // --out DIR (default runs/bench/<name>)
  std::string config;              // --config FILE (default configs/nas-paper.json, from the repository root)
};

// Parses [--scale cpu|paper] [--config FILE] [--set key=value ...] [--seed N] [--out DIR]. --seed
// sets the model stream (nas.seed) and the trainings' seed (train.seed; repeat r uses N + r), so
// runs with different seeds are independent samples of a search. --help prints
// `usage` and exits 0; bad arguments print one line and the usage on stderr and exit 2.
BenchArgs parse_bench_args(int argc, char** argv, const std::string& name, const std::string& usage);

// The CPU scale shared by every figure (Fashion-MNIST subset, batch 50, 1 epoch, 2 repeats,
// 6 iterations, 2 buckets of 12/32 GiB and 8x/32 load).
std::vector<std::string> cpu_scale_overrides();

// Runs every setting: config = base file + scale overrides + setting + user sets, into
// out_root/label; a directory that already holds the same search is resumed (so a finished
// sweep reprints its table without training). Progress goes to stderr.
std::vector<SweepResult> run_sweep(const BenchArgs& args, const std::vector<std::string>& scale_overrides,
                                   const std::vector<SweepSetting>& settings);

// One row per setting: models, mean and best score, gain over the mean, mean lanes and
// parameters of the generated models, lanes of the best, model-epochs, training seconds.
std::string sweep_table(const std::string& setting_name, const std::vector<SweepResult>& rows);

}  // namespace mlcn
