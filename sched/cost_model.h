// Lane time models, selectable by name (spec §4.1 and §5.1):
//  - "paper":      time = d * w^2 / S_g, in the paper's abstract cost units (x unit_seconds);
//  - "flops":      time = train FLOPs / (S_g * flops_per_speed), in seconds;
//  - "calibrated": time = (alpha x + beta) / S_g from a Calibration (or a device's own fit).
// The head (decoder, losses) runs on one device: 0 under "paper" (Eq. 1 has no head term),
// its training FLOPs / (S_head * flops_per_speed) under "flops" and "calibrated".
#pragma once
#include <memory>
#include <string>

#include "sched/calibration.h"  // defines: Calibration
#include "sched/devices.h"      // defines: DeviceSpec, DeviceSet
#include "sched/lane_model.h"   // defines: LaneDesc

namespace mlcn {

enum class CostModelKind { paper, flops, calibrated };

class CostModel {
 public:
  static CostModel paper(double unit_seconds = 1.0);
  static CostModel flops(double flops_per_speed = 1e12);
  static CostModel calibrated(const Calibration& cal, double flops_per_speed = 1e12);
  // "paper", "flops" or "calibrated" (which needs cal); flops_per_speed from the device set.
  static CostModel by_name(const std::string& name, const DeviceSet& devices,
                           const Calibration* cal = nullptr);

  CostModelKind kind() const { return kind_; }
  std::string name() const;
  // Time of one training step of the lane on the device.
  double lane_time(const LaneDesc& lane, const DeviceSpec& device) const;
  // Time of the head's step for `lanes` lanes of input shape `shape`, on `device`.
  double head_time(const LaneDesc& shape, int lanes, const DeviceSpec& device) const;

 private:
  CostModelKind kind_ = CostModelKind::paper;
  double unit_seconds_ = 1.0;
  double flops_per_speed_ = 1e12;
  std::shared_ptr<const Calibration> cal_;
};

}  // namespace mlcn
