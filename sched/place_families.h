// Random placement instance families for tests and benchmarks beyond the paper's Fig. 8/9
// (issue 12): identical or mixed-speed devices, loose or tight memory. Lanes are mlcn1 lanes
// with (w, d) uniform in 1..5 (valid for Fashion-MNIST, batch 100), priced d * w^2 / speed
// (the paper cost model) and by the analytic memory bound. Mixed speeds are drawn in 1..8 and
// stretched to span exactly 1x-8x. Tight memory: the devices together hold 4-10% more than
// the lanes need (shares drawn per device on mixed speeds, equal on identical ones); loose:
// about twice the need. Instances are redrawn until a placement fits memory. The device
// count is drawn in [devices_min, devices_max], capped at lanes / 3 (not below devices_min).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sched/placement.h"  // defines: PlacementProblem

namespace mlcn {

struct FamilySpec {
  std::string name;      // e.g. "mixed-tight"
  bool mixed = false;    // speeds spread 1-8x (else all 1)
  bool tight = false;    // total memory 4-10% above the lanes' needs (else about 2x)
  int devices_min = 4;   // device count drawn uniformly in [devices_min, devices_max]
  int devices_max = 8;
};

// identical-loose, identical-tight, mixed-loose, mixed-tight (4-8 devices each).
std::vector<FamilySpec> placement_families();
// Instance `seed` of a family with `lanes` lanes. Throws when no feasible instance is
// drawn in 1000 tries.
PlacementProblem family_instance(const FamilySpec& f, int lanes, uint64_t seed);

}  // namespace mlcn
