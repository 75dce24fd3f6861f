// Resolving a command's training config (run_config.h).
#include "cli/run_config.h"

#include "engine/train/dist_setup.h"      // defines: group_device_count
#include "engine/train/trainer.h"         // defines: runtime_options
#include "cli/checkpoint_arg.h"           // defines: stored_config_text
#include "sched/devices.h"                // defines: identical_devices
#include "sched/place_report.h"           // defines: resolve_placement

namespace mlcn::cli {

std::vector<LaneDesc> lane_descs(const Config& cfg) {
  std::vector<LaneDesc> out;
  for (const LaneSpec& s : cfg.lanes) {
    LaneDesc d;
    d.type = s.type, d.width = s.width, d.depth = s.depth;
    set_lane_input(d, cfg.dataset);
    d.batch = cfg.batch_size;
    d.routings = cfg.routings;
    d.classes = dataset_shape(cfg.dataset).classes;
    out.push_back(d);
  }
  return out;
}

Config resolve_placement_name(Config cfg, const std::string& source) {
  if (!cfg.placement.is_string() || cfg.placement == "round-robin" || cfg.lanes.empty()) return cfg;
  nlohmann::json round_robin = cfg.json;
  round_robin["runtime"]["placement"] = "round-robin";
  const size_t devices = runtime_options(config_from_json(round_robin, source), cfg.lanes.size()).devices.size();
  // sched places over the devices of one replica group, across every rank of it.
  std::vector<int> placement =
      resolve_placement(cfg.placement, lane_descs(cfg), identical_devices(group_device_count(cfg, int(devices))),
                        "flops", cfg.seed + 1);
  cfg.json["runtime"]["placement"] = placement;
  cfg.placement = cfg.json["runtime"]["placement"];
  return cfg;
}

Config load_run_config(const std::string& config_path, const std::string& checkpoint_path,
                       const std::vector<std::string>& sets) {
  if (!config_path.empty()) return resolve_placement_name(load_config(config_path, sets), config_path);
  return resolve_placement_name(parse_config(stored_config_text(checkpoint_path), checkpoint_path, sets),
                                checkpoint_path);
}

}  // namespace mlcn::cli
