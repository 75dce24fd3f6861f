// Random placement instance families (see place_families.h).
#include "sched/place_families.h"

#include <algorithm>
#include <numeric>

#include "base/check.h"  // defines: MLCN_CHECK
#include "base/rng.h"    // defines: Rng, splitmix64
#include "sched/lane_model.h"  // defines: LaneDesc, lane_memory_bytes, lane_is_valid

namespace mlcn {

std::vector<FamilySpec> placement_families() {
  return {{"identical-loose", false, false},
          {"identical-tight", false, true},
          {"mixed-loose", true, false},
          {"mixed-tight", true, true}};
}

namespace {

PlacementProblem draw(const FamilySpec& f, int lanes, Rng& rng) {
  // At least 3 lanes per device on average (fewer make tight memory rarely feasible).
  const int gmax = std::max(f.devices_min, std::min(f.devices_max, lanes / 3));
  const int G = f.devices_min + int(rng.below(gmax - f.devices_min + 1));
  std::vector<double> work, mem, speed(G, 1.0), cap(G);
  while (int(work.size()) < lanes) {
    LaneDesc l;
    l.width = 1 + int(rng.below(5));
    l.depth = 1 + int(rng.below(5));
    if (!lane_is_valid(l)) continue;
    work.push_back(double(l.depth) * l.width * l.width);
    mem.push_back(lane_memory_bytes(l));
  }
  if (f.mixed && G > 1) {
    for (double& s : speed) s = rng.uniform(1, 8);
    const auto [lo, hi] = std::minmax_element(speed.begin(), speed.end());
    const double a = *lo, b = *hi;
    for (double& s : speed) s = b > a ? 1 + 7 * (s - a) / (b - a) : 1;
  }
  const double need = std::accumulate(mem.begin(), mem.end(), 0.0);
  const double total = need * (f.tight ? rng.uniform(1.04, 1.10) : rng.uniform(1.8, 2.2));
  std::vector<double> share(G, 1.0);
  if (f.mixed)
    for (double& s : share) s = rng.uniform(0.7, 1.3);
  const double share_sum = std::accumulate(share.begin(), share.end(), 0.0);
  for (int g = 0; g < G; ++g) cap[g] = std::floor(total * share[g] / share_sum);
  return make_problem(work, speed, mem, cap);
}

}  // namespace

PlacementProblem family_instance(const FamilySpec& f, int lanes, uint64_t seed) {
  MLCN_CHECK(lanes >= 1 && lanes <= 64, "placement family " << f.name << ": lanes must be in 1..64, got " << lanes);
  Rng rng(splitmix64(seed));
  for (int tries = 0; tries < 1000; ++tries) {
    PlacementProblem p;
    try {
      p = draw(f, lanes, rng);
    } catch (const Error&) {
      continue;  // a lane larger than every device, or more memory needed than held
    }
    // Feasible: the list search settles most; exact's memory search the rest.
    std::vector<int> dev;
    const int list = find_memory_feasible(p, &dev, 200000);
    if (list == 1 || (list == -1 && find_placement_exact(p, &dev, 10) == 1)) return p;
  }
  MLCN_FAIL("placement family " << f.name << ": no feasible instance of " << lanes
                                << " lanes drawn in 1000 tries (seed " << seed << ")");
}

}  // namespace mlcn
