// JSON for lanes: one LaneDesc as an object, and a lanes file.
// Lanes file (docs/sched.md):
//   {"dataset": "fashion-mnist", "batch_size": 100, "routings": 3, "classes": 10,
//    "lanes": [{"type": "mlcn1", "width": 2, "depth": 3}, ...]}
// The lanes of a training config come from the engine's parsed Config (cli/config_lanes.h),
// never from parsing the config again here.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "sched/lane_model.h"  // defines: LaneDesc

namespace mlcn {

// Every field of the lane (type, width, depth, H, W, C, classes, batch, routings).
nlohmann::json lane_to_json(const LaneDesc& lane);
// Fields absent from j keep their value from `defaults`; unknown keys and wrong types are
// errors naming `where`. The result is checked with check_lane.
LaneDesc lane_from_json(const nlohmann::json& j, const LaneDesc& defaults, const std::string& where);

std::vector<LaneDesc> lanes_from_json(const nlohmann::json& j, const std::string& where);
std::vector<LaneDesc> load_lanes_file(const std::string& path);

}  // namespace mlcn
