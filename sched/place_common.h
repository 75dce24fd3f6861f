// Small helpers shared by the placement algorithms (internal to sched/): memory fit test
// with a relative tolerance, and loads of an assignment.
#pragma once
#include <algorithm>
#include <vector>

#include "sched/placement.h"  // defines: PlacementProblem

namespace mlcn {
namespace place_detail {

// Does `need` more bytes fit on a device holding `used` bytes with capacity `cap`?
inline bool fits(double used, double need, double cap) {
  return cap <= 0 || used + need <= cap * (1 + 1e-12);
}

// (G) summed time per device of an assignment; unassigned lanes (-1) are skipped.
inline std::vector<double> loads_of(const PlacementProblem& p, const std::vector<int>& device) {
  std::vector<double> load(p.devices(), 0.0);
  for (int l = 0; l < p.lanes(); ++l)
    if (device[l] >= 0) load[device[l]] += p.time[l][device[l]];
  return load;
}

inline double makespan_of(const PlacementProblem& p, const std::vector<int>& device) {
  auto load = loads_of(p, device);
  return *std::max_element(load.begin(), load.end());
}

// True when every lane takes the same time on every device (identical devices).
inline bool identical_devices(const PlacementProblem& p) {
  for (int l = 0; l < p.lanes(); ++l)
    for (int g = 1; g < p.devices(); ++g)
      if (p.time[l][g] != p.time[l][0]) return false;
  return true;
}

}  // namespace place_detail
}  // namespace mlcn
