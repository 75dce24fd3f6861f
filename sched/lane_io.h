// JSON for lanes: one LaneDesc as an object, a lanes file, and the lanes of a training config.
// Lanes file (docs/sched.md):
//   {"dataset": "fashion-mnist", "batch_size": 100, "routings": 3, "classes": 10,
//    "lanes": [{"type": "mlcn1", "width": 2, "depth": 3}, ...]}
// A training config gives the same through model.lanes, model.routings, data.dataset and
// train.batch_size; its other keys belong to the trainer and are not read here.
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
std::vector<LaneDesc> lanes_from_config(const nlohmann::json& cfg, const std::string& where);
std::vector<LaneDesc> load_lanes_from_config(const std::string& path);

}  // namespace mlcn
