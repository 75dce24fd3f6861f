// The training config of a CLI command, resolved once: loaded from --config (with --set) or
// from a checkpoint's embedded config, with a named placement algorithm (runtime.placement =
// "greedy", "exact", ...) turned into a device per lane by sched. sched sees the lanes of the
// engine's parsed Config (lane_descs); nothing parses the config twice.
#pragma once
#include <string>
#include <vector>

#include "engine/train/config.h"  // defines: Config
#include "sched/lane_model.h"     // defines: LaneDesc

namespace mlcn::cli {

// sched's description of each lane of `cfg` (input shape, batch, routings, classes).
std::vector<LaneDesc> lane_descs(const Config& cfg);
// Replaces a placement algorithm name by the device list it computes over cfg's devices.
Config resolve_placement_name(Config cfg, const std::string& source);
// --config FILE (+ --set), else the checkpoint's config (+ --set); with the placement resolved.
Config load_run_config(const std::string& config_path, const std::string& checkpoint_path,
                       const std::vector<std::string>& sets);

}  // namespace mlcn::cli
