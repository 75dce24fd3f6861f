// exact against an exhaustive optimum on thousands of small random instances with 2-6 devices:
// distinct, equal and repeated speeds, tight and loose memory. Each instance is also solved
// with its devices and its lanes permuted: the makespan and the optimality claim must not
// depend on either order (issue 12). The exhaustive optimum is a dynamic program over the
// subsets of lanes each device can hold, independent of the branch and bound.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "base/check.h"
#include "base/rng.h"
#include "sched/placement.h"

using namespace mlcn;

namespace {

// Optimal makespan over every assignment that respects memory (+inf when none does):
// best[k][S] = the least max-load of devices 0..k-1 holding exactly the lanes S.
double exhaustive_optimum(const PlacementProblem& p) {
  const int L = p.lanes(), G = p.devices();
  const uint32_t full = (1u << L) - 1;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> best(full + 1, inf), next(full + 1);
  best[0] = 0;
  std::vector<double> t(full + 1), m(full + 1);
  for (int g = 0; g < G; ++g) {
    for (uint32_t S = 1; S <= full; ++S) {
      int i = __builtin_ctz(S);
      t[S] = t[S & (S - 1)] + p.time[i][g];
      m[S] = m[S & (S - 1)] + p.mem[i];
    }
    t[0] = m[0] = 0;
    std::fill(next.begin(), next.end(), inf);
    for (uint32_t S = 0; S <= full; ++S) {
      if (std::isinf(best[S])) continue;
      const uint32_t rest = full & ~S;
      // Every subset D of the lanes not yet placed goes on device g.
      for (uint32_t D = rest;; D = (D - 1) & rest) {
        if (p.capacity[g] <= 0 || m[D] <= p.capacity[g] * (1 + 1e-12))
          next[S | D] = std::min(next[S | D], std::max(best[S], t[D]));
        if (D == 0) break;
      }
    }
    best.swap(next);
  }
  return best[full];
}

enum class Speeds { equal, distinct, repeated };

PlacementProblem random_instance(Rng& rng, Speeds speeds, bool tight) {
  const int G = 2 + int(rng.below(5));                      // 2..6
  const int L = G + 1 + int(rng.below(G <= 3 ? 7 : 10 - G));  // up to 10 (2-3), 9, 8, 9 lanes
  std::vector<double> work(L), speed(G, 1.0), mem(L), cap(G);
  for (int l = 0; l < L; ++l) {
    work[l] = rng.below(3) == 0 ? double(1 + rng.below(5)) * (1 + rng.below(4)) : rng.uniform(1, 50);
    mem[l] = double(1 + rng.below(10));
  }
  if (speeds == Speeds::distinct) {
    // Spread 1-8x, all different (drawn without replacement from a grid).
    std::vector<double> grid;
    for (int i = 0; i < 29; ++i) grid.push_back(1 + 0.25 * i);
    for (int g = 0; g < G; ++g) {
      int k = g + int(rng.below(grid.size() - g));
      std::swap(grid[g], grid[k]);
      speed[g] = grid[g];
    }
  } else if (speeds == Speeds::repeated) {
    for (int g = 0; g < G; ++g) speed[g] = std::vector<double>{1, 3, 6}[rng.below(3)];
  }
  const double total = std::accumulate(mem.begin(), mem.end(), 0.0);
  // Tight: total capacity 0-15% above the lanes' needs, split unevenly; loose: about 2x.
  const double slack = tight ? rng.uniform(1.0, 1.15) : rng.uniform(1.8, 2.5);
  std::vector<double> share(G);
  for (int g = 0; g < G; ++g) share[g] = rng.uniform(0.6, 1.4);
  const double share_sum = std::accumulate(share.begin(), share.end(), 0.0);
  for (int g = 0; g < G; ++g) cap[g] = std::floor(total * slack * share[g] / share_sum);
  try {
    return make_problem(work, speed, mem, cap);
  } catch (const Error&) {
    return random_instance(rng, speeds, tight);  // a lane larger than every device: redraw
  }
}

// p with lanes and devices reordered: lane i of the result is lane lane_of[i] of p, device k
// is device dev_of[k].
PlacementProblem permuted(const PlacementProblem& p, const std::vector<int>& lane_of,
                          const std::vector<int>& dev_of) {
  PlacementProblem q = p;
  for (int i = 0; i < p.lanes(); ++i) {
    q.mem[i] = p.mem[lane_of[i]];
    q.lane_names[i] = p.lane_names[lane_of[i]];
    for (int k = 0; k < p.devices(); ++k) q.time[i][k] = p.time[lane_of[i]][dev_of[k]];
  }
  for (int k = 0; k < p.devices(); ++k) {
    q.speed[k] = p.speed[dev_of[k]];
    q.capacity[k] = p.capacity[dev_of[k]];
    q.device_names[k] = p.device_names[dev_of[k]];
  }
  return q;
}

std::vector<int> shuffled(int n, Rng& rng) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  for (int i = n - 1; i > 0; --i) std::swap(v[i], v[rng.below(i + 1)]);
  return v;
}

void check_orders(Speeds speeds, bool tight, uint64_t seed, int count) {
  Rng rng(seed);
  PlaceOptions opt;
  opt.kicks = 20;  // a weaker start exercises the search more
  int feasible = 0;
  for (int it = 0; it < count; ++it) {
    const PlacementProblem p = random_instance(rng, speeds, tight);
    const double best = exhaustive_optimum(p);
    INFO("instance " << it << ": L=" << p.lanes() << " G=" << p.devices() << " optimum " << best);
    if (std::isinf(best)) {
      CHECK_THROWS_WITH(place(p, "exact", opt), Catch::Contains("no placement fits all lanes"));
      continue;
    }
    ++feasible;
    CHECK(lower_bound(p) <= best * (1 + 1e-12));
    // The identity, every device order on up to 3 devices (else 4 random ones), each with its
    // own lane order.
    std::vector<std::vector<int>> dev_orders;
    std::vector<int> d(p.devices());
    std::iota(d.begin(), d.end(), 0);
    if (p.devices() <= 3) {
      do dev_orders.push_back(d);
      while (std::next_permutation(d.begin(), d.end()));
    } else {
      dev_orders.push_back(d);
      for (int r = 0; r < 4; ++r) dev_orders.push_back(shuffled(p.devices(), rng));
    }
    for (size_t o = 0; o < dev_orders.size(); ++o) {
      std::vector<int> lanes = o == 0 ? std::vector<int>{} : shuffled(p.lanes(), rng);
      if (o == 0) {
        lanes.resize(p.lanes());
        std::iota(lanes.begin(), lanes.end(), 0);
      }
      const PlacementProblem q = permuted(p, lanes, dev_orders[o]);
      Placement r = place(q, "exact", opt);
      INFO("order " << o);
      CHECK(r.optimal);
      CHECK(r.makespan == Approx(best).epsilon(1e-9));
      CHECK(r.lower_bound <= best * (1 + 1e-9));
      CHECK(r.lower_bound <= r.makespan);
    }
  }
  CHECK(feasible > count / 2);
}

}  // namespace

TEST_CASE("exact is optimal and order-free: distinct speeds, tight memory", "[sched][exact]") {
  check_orders(Speeds::distinct, true, 1201, 1500);
}

TEST_CASE("exact is optimal and order-free: distinct speeds, loose memory", "[sched][exact]") {
  check_orders(Speeds::distinct, false, 1202, 600);
}

TEST_CASE("exact is optimal and order-free: equal speeds, tight memory", "[sched][exact]") {
  check_orders(Speeds::equal, true, 1203, 1000);
}

TEST_CASE("exact is optimal and order-free: equal speeds, loose memory", "[sched][exact]") {
  check_orders(Speeds::equal, false, 1204, 600);
}

TEST_CASE("exact is optimal and order-free: repeated speeds, tight memory", "[sched][exact]") {
  check_orders(Speeds::repeated, true, 1205, 1000);
}
