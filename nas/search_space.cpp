// The search space's helpers: lanes of the family, loads under the cost model, the buckets
// seen as a sched device set, and validation.
#include "nas/search_space.h"

#include <cmath>

#include "base/check.h"  // defines: MLCN_CHECK

namespace mlcn {

LaneDesc space_lane(const SearchSpace& s, int width, int depth) {
  LaneDesc l = s.shape;
  l.type = s.lane_type;
  l.width = width;
  l.depth = depth;
  return l;
}

double model_load(const SearchSpace& s, const std::vector<LaneDesc>& lanes) {
  DeviceSpec unit{"speed-1", 1.0, 0};
  double load = 0;
  for (const LaneDesc& l : lanes) load += s.cost.lane_time(l, unit);
  return load;
}

DeviceSet bucket_devices(const SearchSpace& s) {
  DeviceSet ds;
  for (const Bucket& b : s.buckets) ds.devices.push_back(DeviceSpec{b.name, b.speed, b.memory_bytes});
  ds.head = 0;
  ds.flops_per_speed = s.flops_per_speed;
  return ds;
}

void check_space(const SearchSpace& s) {
  MLCN_CHECK(s.lane_type == "mlcn1" || s.lane_type == "mlcn2",
             "nas.lane_type must be mlcn1 or mlcn2, got '" << s.lane_type << "'");
  MLCN_CHECK(s.width_min >= 1 && s.width_min <= s.width_max,
             "nas.width must be a range [min, max] with 1 <= min <= max, got [" << s.width_min << ", "
                                                                             << s.width_max << "]");
  MLCN_CHECK(s.depth_min >= 1 && s.depth_min <= s.depth_max,
             "nas.depth must be a range [min, max] with 1 <= min <= max, got [" << s.depth_min << ", "
                                                                             << s.depth_max << "]");
  MLCN_CHECK(!s.buckets.empty(), "nas.buckets: at least one bucket is needed");
  for (size_t i = 0; i < s.buckets.size(); ++i) {
    const Bucket& b = s.buckets[i];
    MLCN_CHECK(std::isfinite(b.memory_bytes) && b.memory_bytes > 0,
               "nas.buckets[" << i << "] (" << b.name << "): memory limit must be > 0, got " << b.memory_bytes);
    MLCN_CHECK(std::isfinite(b.load_limit) && b.load_limit > 0,
               "nas.buckets[" << i << "] (" << b.name << "): load limit must be > 0, got " << b.load_limit);
    MLCN_CHECK(std::isfinite(b.speed) && b.speed > 0,
               "nas.buckets[" << i << "] (" << b.name << "): speed must be > 0, got " << b.speed);
  }
}

}  // namespace mlcn
