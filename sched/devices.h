// A device set: the devices lanes can be placed on, each with a relative speed and a memory
// capacity, plus what the step-time simulator needs (head device, link bandwidth) and the
// FLOP rate of a speed-1 device for the flops cost model. JSON format in docs/sched.md:
//   {"devices": [{"name": "K80", "speed": 1, "memory_gib": 12}, ...],
//    "head": 0, "link_bytes_per_s": 1.25e9, "flops_per_speed": 1e12}
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

namespace mlcn {

// One device of a placement problem (sched's view: a name, a speed and a capacity); not the
// engine's tensor device tag mlcn::Device.
struct DeviceSpec {
  std::string name;
  double speed = 1.0;         // relative speed: time on this device = speed-1 time / speed
  double memory_bytes = 0;    // capacity; 0 means unlimited
};

struct DeviceSet {
  std::vector<DeviceSpec> devices;
  int head = 0;                  // index of the device that runs the head (decoder, losses)
  double link_bytes_per_s = 0;   // bandwidth of the lane <-> head exchange; 0 means free
  double flops_per_speed = 1e12; // FLOP/s reached by a speed-1 device (flops cost model)
};

// Parses and validates a device set; `where` (a file name) prefixes every error message.
DeviceSet device_set_from_json(const nlohmann::json& j, const std::string& where);
nlohmann::json device_set_to_json(const DeviceSet& ds);
DeviceSet load_device_set(const std::string& path);

// n devices named <prefix>0..<prefix>n-1 with the same speed and memory (0 = unlimited).
DeviceSet identical_devices(int n, double speed = 1.0, double memory_bytes = 0,
                            const std::string& prefix = "dev");
// The paper's four GPUs (S1 §3.1): K80 1, M40 3.1, P100 4.2, V100 6, with their memory
// (12, 24, 16, 16 GiB) when with_memory is true, unlimited otherwise.
DeviceSet paper_gpus(bool with_memory = false);


}  // namespace mlcn
