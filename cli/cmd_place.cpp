// `mlcn place`: reads the lanes (a lanes file, or the lanes of a training config as the engine
// parses it) and the devices, and prints sched's placement report as one JSON object.
#include "cli/commands.h"
#include "cli/run_config.h"       // defines: lane_descs
#include "engine/train/config.h"  // defines: load_config
#include "sched/lane_io.h"        // defines: load_lanes_file
#include "sched/place_report.h"   // defines: place_report, PlaceRequest

namespace mlcn::cli {

int cmd_place(const Args& a, std::ostream& out) {
  if (a.has("--lanes") == a.has("--config")) throw UsageError("give exactly one of --lanes FILE or --config FILE");
  if (a.has("--set") && !a.has("--config")) throw UsageError("--set needs --config FILE");
  PlaceRequest r;
  r.devices = load_device_set(a.require("--devices", "FILE"));
  r.algo = a.require("--algo", "NAME");
  r.model = a.get("--model", "paper");
  r.calibration = a.get("--calibration");
  r.seed = a.get_uint("--seed", 1);
  r.time_limit_s = a.get_positive("--time-limit", 10);
  if (a.has("--lanes")) {
    r.lanes = load_lanes_file(a.get("--lanes"));
  } else {
    const Config cfg = load_config(a.get("--config"), a.all("--set"));
    MLCN_CHECK(!cfg.lanes.empty(), a.get("--config") << ": model.lanes is required to place lanes (a CapsNet has one "
                                                     << "network, nothing to place)");
    r.lanes = lane_descs(cfg);
  }
  out << place_report(r).dump(2) << "\n";
  return 0;
}

}  // namespace mlcn::cli
