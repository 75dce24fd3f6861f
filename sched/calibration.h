// Calibration of the lane time and memory models on real devices. Measurements come in as
// data (the engine's lane runtime produces them); fitting and reporting live here:
//  - speeds from a probe (the paper's 512x512 fully-connected net): S_g = t_ref / t_g;
//  - time model: least squares of t * S_device = alpha * x + beta over every sample (one
//    global fit, time on g = (alpha x + beta) / S_g), and a fit t = alpha_g x + beta_g per
//    device with enough samples; x is the analytic training FLOPs or the paper's d*w^2;
//  - memory model: M_0 so that the analytic bound stays above every measured peak;
//  - reports: Pearson r of predicted vs measured times (the paper: 0.901) and the memory
//    bound's error (the paper: always an upper bound, mean error < 256 MiB).
// JSON format (save/load round-trips exactly) in docs/sched.md.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

#include "sched/devices.h"     // defines: DeviceSpec
#include "sched/lane_model.h"  // defines: LaneDesc, MemoryModelParams

namespace mlcn {

// One measured lane: its mean training-step time on a device and its peak memory there.
struct CalibrationSample {
  LaneDesc lane;
  std::string device;
  double seconds = 0;
  double peak_bytes = 0;  // 0 when not measured
};

// y = alpha * x + beta, with the Pearson r of (alpha x + beta) against y over its n samples.
struct LinearFit {
  double alpha = 0, beta = 0;
  double pearson = 0;
  int n = 0;
};

struct Calibration {
  std::string feature = "flops";              // "flops" (train FLOPs) or "paper" (d*w^2)
  std::vector<DeviceSpec> devices;                // calibrated devices (speed from the probe)
  std::map<std::string, double> probe_seconds;  // probe time per device name
  std::vector<CalibrationSample> samples;
  LinearFit global;                           // on speed-normalised times
  std::map<std::string, LinearFit> per_device;  // on raw times of that device
  MemoryModelParams memory;
};

// Pearson correlation of two equal-length series; 0 when either is constant.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Least squares y = alpha x + beta (beta = mean(y) when x is constant).
LinearFit fit_linear(const std::vector<double>& x, const std::vector<double>& y);

// x of the time model for one lane under the calibration's feature.
double calibration_feature(const std::string& feature, const LaneDesc& lane);

// Sets each device's speed to t_ref / t_g from probe_seconds (ref = device `reference`,
// or the slowest device when empty) so the reference has speed 1.
void speeds_from_probe(Calibration* cal, const std::string& reference = "");
// Fits cal->global and cal->per_device (devices with >= min_per_device samples) from the
// samples; every sample's device must be in cal->devices.
void fit_time_model(Calibration* cal, int min_per_device = 3);
// Sets cal->memory.overhead_bytes to the smallest M_0 >= 0 that keeps the bound above
// every measured peak (samples with peak_bytes > 0).
void fit_memory_overhead(Calibration* cal);

// Predicted time of a lane on a named device: the device's own fit if any, else the
// global fit divided by the device's speed. Throws naming the device when unknown.
double calibrated_time(const Calibration& cal, const LaneDesc& lane, const DeviceSpec& device);

struct TimeReport {
  int n = 0;
  double pearson = 0;            // predicted vs measured seconds
  double mean_abs_rel_error = 0; // mean |pred - meas| / meas
};
TimeReport time_model_report(const Calibration& cal);

struct MemoryReport {
  int n = 0;
  double mean_error_bytes = 0;   // mean (predicted - measured); > 0 means over-estimate
  double mean_abs_error_bytes = 0;
  double max_abs_error_bytes = 0;
  int under_estimates = 0;       // samples where predicted < measured
  bool always_upper_bound = true;
};
MemoryReport memory_model_report(const std::vector<double>& predicted,
                                 const std::vector<double>& measured);
// Over the samples with a measured peak, against lane_memory_bytes(lane, cal.memory).
MemoryReport memory_model_report(const Calibration& cal);

nlohmann::json calibration_to_json(const Calibration& cal);
Calibration calibration_from_json(const nlohmann::json& j, const std::string& where);
void save_calibration(const Calibration& cal, const std::string& path);
Calibration load_calibration(const std::string& path);

}  // namespace mlcn
