// Calibration: least-squares time fits, probe speeds, memory overhead, error reports and the
// JSON round trip. See calibration.h for the models.
#include "sched/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "base/check.h"    // defines: MLCN_CHECK, MLCN_FAIL
#include "base/json_io.h"  // defines: read_json_file
#include "sched/lane_io.h"      // defines: lane_to_json, lane_from_json

namespace mlcn {

namespace {

const DeviceSpec& find_device(const Calibration& cal, const std::string& name) {
  for (const auto& d : cal.devices)
    if (d.name == name) return d;
  MLCN_FAIL("calibration has no device named '" << name << "'");
}

nlohmann::json fit_to_json(const LinearFit& f) {
  return {{"alpha", f.alpha}, {"beta", f.beta}, {"pearson", f.pearson}, {"n", f.n}};
}

LinearFit fit_from_json(const nlohmann::json& j, const std::string& where) {
  MLCN_CHECK(j.is_object(), where << " must be an object {alpha, beta, pearson, n}");
  LinearFit f;
  try {
    f.alpha = j.at("alpha").get<double>();
    f.beta = j.at("beta").get<double>();
    f.pearson = j.at("pearson").get<double>();
    f.n = j.at("n").get<int>();
  } catch (const nlohmann::json::exception& e) {
    MLCN_FAIL(where << ": " << e.what());
  }
  return f;
}

}  // namespace

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  MLCN_CHECK(x.size() == y.size(), "pearson: series of different lengths " << x.size() << " and "
                                                                           << y.size());
  size_t n = x.size();
  if (n < 2) return 0;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx <= 0 || syy <= 0) return 0;
  return sxy / std::sqrt(sxx * syy);
}

LinearFit fit_linear(const std::vector<double>& x, const std::vector<double>& y) {
  MLCN_CHECK(x.size() == y.size() && !x.empty(),
             "fit_linear: need equal-length non-empty series, got " << x.size() << " and " << y.size());
  size_t n = x.size();
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  LinearFit f;
  f.n = int(n);
  f.alpha = sxx > 0 ? sxy / sxx : 0;
  f.beta = my - f.alpha * mx;
  f.pearson = pearson(x, y);
  return f;
}

double calibration_feature(const std::string& feature, const LaneDesc& lane) {
  if (feature == "flops") return lane_stats(lane).train_flops;
  if (feature == "paper") return paper_cost(lane);
  MLCN_FAIL("unknown calibration feature '" << feature << "' (expected flops or paper)");
}

void speeds_from_probe(Calibration* cal, const std::string& reference) {
  MLCN_CHECK(!cal->devices.empty(), "speeds_from_probe: the calibration has no devices");
  double t_ref = 0;
  for (const auto& d : cal->devices) {
    auto it = cal->probe_seconds.find(d.name);
    MLCN_CHECK(it != cal->probe_seconds.end() && it->second > 0,
               "speeds_from_probe: no positive probe time for device '" << d.name << "'");
    if (reference.empty()) t_ref = std::max(t_ref, it->second);
  }
  if (!reference.empty()) {
    auto it = cal->probe_seconds.find(reference);
    MLCN_CHECK(it != cal->probe_seconds.end(),
               "speeds_from_probe: reference device '" << reference << "' has no probe time");
    t_ref = it->second;
  }
  for (auto& d : cal->devices) d.speed = t_ref / cal->probe_seconds.at(d.name);
}

void fit_time_model(Calibration* cal, int min_per_device) {
  MLCN_CHECK(!cal->samples.empty(), "fit_time_model: the calibration has no samples");
  std::vector<double> x, y;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by_dev;
  for (const auto& s : cal->samples) {
    const DeviceSpec& d = find_device(*cal, s.device);
    MLCN_CHECK(s.seconds > 0, "fit_time_model: sample on '" << s.device << "' ("
                                                            << lane_label(s.lane)
                                                            << ") has non-positive seconds");
    double f = calibration_feature(cal->feature, s.lane);
    x.push_back(f);
    y.push_back(s.seconds * d.speed);
    by_dev[s.device].first.push_back(f);
    by_dev[s.device].second.push_back(s.seconds);
  }
  cal->global = fit_linear(x, y);
  cal->per_device.clear();
  for (const auto& [name, xy] : by_dev)
    if (int(xy.first.size()) >= min_per_device) cal->per_device[name] = fit_linear(xy.first, xy.second);
}

void fit_memory_overhead(Calibration* cal) {
  MemoryModelParams mp = cal->memory;
  mp.overhead_bytes = 0;
  double need = 0;
  for (const auto& s : cal->samples)
    if (s.peak_bytes > 0) need = std::max(need, s.peak_bytes - lane_memory_bytes(s.lane, mp));
  cal->memory.overhead_bytes = need;
}

double calibrated_time(const Calibration& cal, const LaneDesc& lane, const DeviceSpec& device) {
  double x = calibration_feature(cal.feature, lane);
  auto it = cal.per_device.find(device.name);
  if (it != cal.per_device.end()) return it->second.alpha * x + it->second.beta;
  MLCN_CHECK(cal.global.n > 0, "calibration has no fitted time model (run fit_time_model)");
  return (cal.global.alpha * x + cal.global.beta) / device.speed;
}

TimeReport time_model_report(const Calibration& cal) {
  std::vector<double> pred, meas;
  TimeReport r;
  for (const auto& s : cal.samples) {
    double p = calibrated_time(cal, s.lane, find_device(cal, s.device));
    pred.push_back(p);
    meas.push_back(s.seconds);
    r.mean_abs_rel_error += std::fabs(p - s.seconds) / s.seconds;
  }
  r.n = int(pred.size());
  if (r.n > 0) r.mean_abs_rel_error /= r.n;
  r.pearson = pearson(pred, meas);
  return r;
}

MemoryReport memory_model_report(const std::vector<double>& predicted,
                                 const std::vector<double>& measured) {
  MLCN_CHECK(predicted.size() == measured.size(),
             "memory_model_report: " << predicted.size() << " predictions for " << measured.size()
                                     << " measurements");
  MemoryReport r;
  r.n = int(predicted.size());
  for (size_t i = 0; i < predicted.size(); ++i) {
    double e = predicted[i] - measured[i];
    r.mean_error_bytes += e;
    r.mean_abs_error_bytes += std::fabs(e);
    r.max_abs_error_bytes = std::max(r.max_abs_error_bytes, std::fabs(e));
    if (e < 0) ++r.under_estimates;
  }
  if (r.n > 0) {
    r.mean_error_bytes /= r.n;
    r.mean_abs_error_bytes /= r.n;
  }
  r.always_upper_bound = r.under_estimates == 0;
  return r;
}

MemoryReport memory_model_report(const Calibration& cal) {
  std::vector<double> pred, meas;
  for (const auto& s : cal.samples)
    if (s.peak_bytes > 0) {
      pred.push_back(lane_memory_bytes(s.lane, cal.memory));
      meas.push_back(s.peak_bytes);
    }
  return memory_model_report(pred, meas);
}

nlohmann::json calibration_to_json(const Calibration& cal) {
  nlohmann::json j;
  j["format"] = "mlcn-calibration";
  j["version"] = 1;
  j["feature"] = cal.feature;
  DeviceSet ds;
  ds.devices = cal.devices;
  j["devices"] = device_set_to_json(ds)["devices"];
  j["probe_seconds"] = cal.probe_seconds;
  j["samples"] = nlohmann::json::array();
  for (const auto& s : cal.samples)
    j["samples"].push_back({{"lane", lane_to_json(s.lane)},
                            {"device", s.device},
                            {"seconds", s.seconds},
                            {"peak_bytes", s.peak_bytes}});
  j["fit"]["global"] = fit_to_json(cal.global);
  j["fit"]["per_device"] = nlohmann::json::object();
  for (const auto& [name, f] : cal.per_device) j["fit"]["per_device"][name] = fit_to_json(f);
  j["memory"] = {{"grad_factor", cal.memory.grad_factor},
                 {"overhead_bytes", cal.memory.overhead_bytes},
                 {"tf1_tiled_w", cal.memory.tf1_tiled_w}};
  return j;
}

Calibration calibration_from_json(const nlohmann::json& j, const std::string& where) {
  MLCN_CHECK(j.is_object() && j.value("format", "") == "mlcn-calibration",
             where << ": not a calibration file (key 'format' must be \"mlcn-calibration\")");
  MLCN_CHECK(j.value("version", 0) == 1,
             where << ": unsupported calibration version " << j.value("version", 0));
  Calibration cal;
  try {
    cal.feature = j.at("feature").get<std::string>();
    calibration_feature(cal.feature, LaneDesc{});
    cal.devices = device_set_from_json({{"devices", j.at("devices")}}, where).devices;
    cal.probe_seconds = j.at("probe_seconds").get<std::map<std::string, double>>();
    const auto& samples = j.at("samples");
    for (size_t i = 0; i < samples.size(); ++i) {
      const auto& s = samples[i];
      std::string at = where + ": samples[" + std::to_string(i) + "]";
      CalibrationSample cs;
      cs.lane = lane_from_json(s.at("lane"), LaneDesc{}, at + ".lane");
      cs.device = s.at("device").get<std::string>();
      find_device(cal, cs.device);
      cs.seconds = s.at("seconds").get<double>();
      cs.peak_bytes = s.at("peak_bytes").get<double>();
      cal.samples.push_back(cs);
    }
    cal.global = fit_from_json(j.at("fit").at("global"), where + ": fit.global");
    for (const auto& [name, f] : j.at("fit").at("per_device").items())
      cal.per_device[name] = fit_from_json(f, where + ": fit.per_device." + name);
    const auto& m = j.at("memory");
    cal.memory.grad_factor = m.at("grad_factor").get<double>();
    cal.memory.overhead_bytes = m.at("overhead_bytes").get<double>();
    cal.memory.tf1_tiled_w = m.at("tf1_tiled_w").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    MLCN_FAIL(where << ": malformed calibration: " << e.what());
  } catch (const Error& e) {
    MLCN_FAIL(where << ": " << e.message());
  }
  return cal;
}

void save_calibration(const Calibration& cal, const std::string& path) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    MLCN_CHECK(out.good(), "cannot write '" << tmp << "'");
    out << calibration_to_json(cal).dump(2) << "\n";
    MLCN_CHECK(out.good(), "failed writing '" << tmp << "'");
  }
  MLCN_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename '" << tmp << "' to '" << path << "'");
}

Calibration load_calibration(const std::string& path) {
  return calibration_from_json(read_json_file(path), path);
}

}  // namespace mlcn
