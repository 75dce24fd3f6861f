// The three lane time models behind one CostModel value (see cost_model.h).
#include "sched/cost_model.h"

#include <algorithm>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL

namespace mlcn {

CostModel CostModel::paper(double unit_seconds) {
  MLCN_CHECK(unit_seconds > 0, "paper cost model: unit_seconds must be > 0, got " << unit_seconds);
  CostModel m;
  m.kind_ = CostModelKind::paper;
  m.unit_seconds_ = unit_seconds;
  return m;
}

CostModel CostModel::flops(double flops_per_speed) {
  MLCN_CHECK(flops_per_speed > 0, "flops cost model: flops_per_speed must be > 0, got "
                                      << flops_per_speed);
  CostModel m;
  m.kind_ = CostModelKind::flops;
  m.flops_per_speed_ = flops_per_speed;
  return m;
}

CostModel CostModel::calibrated(const Calibration& cal, double flops_per_speed) {
  MLCN_CHECK(cal.global.n > 0 || !cal.per_device.empty(),
             "calibrated cost model: the calibration has no fitted time model");
  CostModel m = flops(flops_per_speed);
  m.kind_ = CostModelKind::calibrated;
  m.cal_ = std::make_shared<const Calibration>(cal);
  return m;
}

CostModel CostModel::by_name(const std::string& name, const DeviceSet& devices,
                             const Calibration* cal) {
  if (name == "paper") return paper();
  if (name == "flops") return flops(devices.flops_per_speed);
  if (name == "calibrated") {
    MLCN_CHECK(cal != nullptr, "cost model 'calibrated' needs a calibration file (--calibration)");
    return calibrated(*cal, devices.flops_per_speed);
  }
  MLCN_FAIL("unknown cost model '" << name << "' (expected paper, flops or calibrated)");
}

std::string CostModel::name() const {
  switch (kind_) {
    case CostModelKind::paper: return "paper";
    case CostModelKind::flops: return "flops";
    case CostModelKind::calibrated: return "calibrated";
  }
  return "";
}

double CostModel::lane_time(const LaneDesc& lane, const DeviceSpec& device) const {
  MLCN_CHECK(device.speed > 0, "device '" << device.name << "' has speed " << device.speed);
  switch (kind_) {
    case CostModelKind::paper: return unit_seconds_ * paper_cost(lane) / device.speed;
    case CostModelKind::flops:
      return lane_stats(lane).train_flops / (device.speed * flops_per_speed_);
    // A fit with a negative intercept can go below zero for tiny lanes: clamp.
    case CostModelKind::calibrated: return std::max(0.0, calibrated_time(*cal_, lane, device));
  }
  return 0;
}

double CostModel::head_time(const LaneDesc& shape, int lanes, const DeviceSpec& device) const {
  if (kind_ == CostModelKind::paper) return 0;
  return head_stats(shape, lanes).train_flops / (device.speed * flops_per_speed_);
}

}  // namespace mlcn
