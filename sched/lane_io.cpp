// Lane descriptions to and from JSON: single lanes, lanes files and training configs.
#include "sched/lane_io.h"

#include <set>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL
#include "base/json_io.h"  // defines: read_json_file

namespace mlcn {

namespace {

int int_field(const nlohmann::json& j, const char* key, int fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  MLCN_CHECK(j[key].is_number_integer(),
             where << ": key '" << key << "' must be an integer, got " << j[key].dump());
  return j[key].get<int>();
}

// The defaults shared by all lanes of a file or config: input shape, batch, routings.
LaneDesc lane_defaults(const std::string& dataset, int batch, int routings, int classes) {
  LaneDesc d;
  set_lane_input(d, dataset);
  d.batch = batch;
  d.routings = routings;
  d.classes = classes;
  return d;
}

std::vector<LaneDesc> parse_lane_list(const nlohmann::json& list, const LaneDesc& defaults,
                                      const std::string& where) {
  MLCN_CHECK(list.is_array() && !list.empty(),
             where << " must be a non-empty array of {type, width, depth} objects");
  std::vector<LaneDesc> lanes;
  for (size_t i = 0; i < list.size(); ++i)
    lanes.push_back(lane_from_json(list[i], defaults, where + "[" + std::to_string(i) + "]"));
  return lanes;
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& fallback,
                         const std::string& where) {
  if (!j.contains(key)) return fallback;
  MLCN_CHECK(j[key].is_string(), where << ": key '" << key << "' must be a string");
  return j[key].get<std::string>();
}

}  // namespace

nlohmann::json lane_to_json(const LaneDesc& l) {
  return {{"type", l.type}, {"width", l.width},     {"depth", l.depth}, {"H", l.H},
          {"W", l.W},       {"C", l.C},             {"classes", l.classes},
          {"batch", l.batch}, {"routings", l.routings}};
}

LaneDesc lane_from_json(const nlohmann::json& j, const LaneDesc& defaults, const std::string& where) {
  MLCN_CHECK(j.is_object(), where << ": a lane must be an object like "
                                  << R"({"type": "mlcn1", "width": 2, "depth": 3})");
  static const std::set<std::string> known = {"type", "width", "depth", "H", "W",
                                              "C", "classes", "batch", "routings"};
  for (auto it = j.begin(); it != j.end(); ++it)
    MLCN_CHECK(known.count(it.key()), where << ": unknown lane key '" << it.key() << "'");
  LaneDesc l = defaults;
  l.type = string_field(j, "type", l.type, where);
  l.width = int_field(j, "width", l.width, where);
  l.depth = int_field(j, "depth", l.depth, where);
  l.H = int_field(j, "H", l.H, where);
  l.W = int_field(j, "W", l.W, where);
  l.C = int_field(j, "C", l.C, where);
  l.classes = int_field(j, "classes", l.classes, where);
  l.batch = int_field(j, "batch", l.batch, where);
  l.routings = int_field(j, "routings", l.routings, where);
  check_lane(l, where);
  return l;
}

std::vector<LaneDesc> lanes_from_json(const nlohmann::json& j, const std::string& where) {
  MLCN_CHECK(j.is_object(), where << ": a lanes file must be an object with key 'lanes'");
  static const std::set<std::string> known = {"dataset", "batch_size", "routings", "classes",
                                              "lanes"};
  for (auto it = j.begin(); it != j.end(); ++it)
    MLCN_CHECK(known.count(it.key()),
               where << ": unknown key '" << it.key()
                     << "' (expected dataset, batch_size, routings, classes or lanes)");
  MLCN_CHECK(j.contains("lanes"), where << ": key 'lanes' is required");
  LaneDesc defaults = lane_defaults(string_field(j, "dataset", "fashion-mnist", where),
                                    int_field(j, "batch_size", 100, where),
                                    int_field(j, "routings", 3, where),
                                    int_field(j, "classes", 10, where));
  return parse_lane_list(j["lanes"], defaults, where + ": lanes");
}

std::vector<LaneDesc> load_lanes_file(const std::string& path) {
  return lanes_from_json(read_json_file(path), path);
}

}  // namespace mlcn
