// Device sets: JSON parsing with one-line errors naming the file and key, and the two
// built-in sets (identical devices, the paper's K80/M40/P100/V100).
#include "sched/devices.h"

#include <cmath>
#include <fstream>
#include <set>

#include "base/check.h"    // defines: MLCN_CHECK, MLCN_FAIL
#include "base/json_io.h"  // defines: read_json_file

namespace mlcn {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

double positive_number(const nlohmann::json& j, const std::string& key, const std::string& where) {
  const auto& v = j.at(key);
  MLCN_CHECK(v.is_number(), where << ": key '" << key << "' must be a number, got " << v.dump());
  double x = v.get<double>();
  MLCN_CHECK(std::isfinite(x) && x >= 0, where << ": key '" << key << "' must be >= 0, got " << x);
  return x;
}

DeviceSpec device_from_json(const nlohmann::json& j, const std::string& where) {
  MLCN_CHECK(j.is_object(), where << ": a device must be an object, got " << j.dump());
  static const std::set<std::string> known = {"name", "speed", "memory_bytes", "memory_gib"};
  for (auto it = j.begin(); it != j.end(); ++it)
    MLCN_CHECK(known.count(it.key()), where << ": unknown key '" << it.key()
                                            << "' (expected name, speed, memory_bytes or memory_gib)");
  DeviceSpec d;
  MLCN_CHECK(j.contains("name") && j["name"].is_string(), where << ": key 'name' (string) is required");
  d.name = j["name"].get<std::string>();
  MLCN_CHECK(j.contains("speed"), where << ": key 'speed' is required");
  d.speed = positive_number(j, "speed", where);
  MLCN_CHECK(d.speed > 0, where << ": key 'speed' must be > 0");
  MLCN_CHECK(!(j.contains("memory_bytes") && j.contains("memory_gib")),
             where << ": give memory_bytes or memory_gib, not both");
  if (j.contains("memory_bytes")) d.memory_bytes = positive_number(j, "memory_bytes", where);
  if (j.contains("memory_gib")) d.memory_bytes = positive_number(j, "memory_gib", where) * kGiB;
  return d;
}

}  // namespace

DeviceSet device_set_from_json(const nlohmann::json& j, const std::string& where) {
  MLCN_CHECK(j.is_object(), where << ": a device set must be a JSON object with key 'devices'");
  static const std::set<std::string> known = {"devices", "head", "link_bytes_per_s",
                                              "flops_per_speed"};
  for (auto it = j.begin(); it != j.end(); ++it)
    MLCN_CHECK(known.count(it.key()),
               where << ": unknown key '" << it.key()
                     << "' (expected devices, head, link_bytes_per_s or flops_per_speed)");
  MLCN_CHECK(j.contains("devices") && j["devices"].is_array() && !j["devices"].empty(),
             where << ": key 'devices' must be a non-empty array");
  DeviceSet ds;
  std::set<std::string> names;
  for (size_t i = 0; i < j["devices"].size(); ++i) {
    ds.devices.push_back(device_from_json(j["devices"][i], where + ": devices[" + std::to_string(i) + "]"));
    MLCN_CHECK(names.insert(ds.devices.back().name).second,
               where << ": duplicate device name '" << ds.devices.back().name << "'");
  }
  if (j.contains("head")) {
    MLCN_CHECK(j["head"].is_number_integer(), where << ": key 'head' must be a device index");
    ds.head = j["head"].get<int>();
    MLCN_CHECK(ds.head >= 0 && ds.head < int(ds.devices.size()),
               where << ": key 'head' = " << ds.head << " is not a device index (0.."
                     << ds.devices.size() - 1 << ")");
  }
  if (j.contains("link_bytes_per_s")) ds.link_bytes_per_s = positive_number(j, "link_bytes_per_s", where);
  if (j.contains("flops_per_speed")) {
    ds.flops_per_speed = positive_number(j, "flops_per_speed", where);
    MLCN_CHECK(ds.flops_per_speed > 0, where << ": key 'flops_per_speed' must be > 0");
  }
  return ds;
}

nlohmann::json device_set_to_json(const DeviceSet& ds) {
  nlohmann::json j;
  j["devices"] = nlohmann::json::array();
  for (const auto& d : ds.devices) {
    nlohmann::json e = {{"name", d.name}, {"speed", d.speed}};
    if (d.memory_bytes > 0) e["memory_bytes"] = d.memory_bytes;
    j["devices"].push_back(e);
  }
  j["head"] = ds.head;
  j["link_bytes_per_s"] = ds.link_bytes_per_s;
  j["flops_per_speed"] = ds.flops_per_speed;
  return j;
}

DeviceSet load_device_set(const std::string& path) {
  return device_set_from_json(read_json_file(path), path);
}

DeviceSet identical_devices(int n, double speed, double memory_bytes, const std::string& prefix) {
  MLCN_CHECK(n >= 1, "a device set needs at least one device, got " << n);
  DeviceSet ds;
  for (int i = 0; i < n; ++i) ds.devices.push_back({prefix + std::to_string(i), speed, memory_bytes});
  return ds;
}

DeviceSet paper_gpus(bool with_memory) {
  DeviceSet ds;
  auto mem = [&](double gib) { return with_memory ? gib * kGiB : 0.0; };
  ds.devices = {{"K80", 1.0, mem(12)}, {"M40", 3.1, mem(24)}, {"P100", 4.2, mem(16)},
                {"V100", 6.0, mem(16)}};
  return ds;
}

}  // namespace mlcn
