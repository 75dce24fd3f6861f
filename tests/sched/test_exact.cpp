// exact against brute force on hundreds of small random instances: identical speeds, mixed
// speeds, unrelated times, duplicate lanes, memory limits (including infeasible ones).
// Every heuristic is checked against the same optimum (never below it, never failing on a
// feasible instance) and local-search against greedy (never above it).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "base/check.h"
#include "base/rng.h"
#include "sched/placement.h"

using namespace mlcn;

namespace {

// Optimal makespan over all G^L assignments that respect memory; +inf when none does.
double brute_force(const PlacementProblem& p) {
  const int L = p.lanes(), G = p.devices();
  std::vector<int> dev(L, 0);
  double best = std::numeric_limits<double>::infinity();
  while (true) {
    std::vector<double> load(G, 0), used(G, 0);
    for (int l = 0; l < L; ++l) {
      load[dev[l]] += p.time[l][dev[l]];
      used[dev[l]] += p.mem[l];
    }
    bool ok = true;
    for (int g = 0; g < G; ++g)
      if (p.capacity[g] > 0 && used[g] > p.capacity[g] * (1 + 1e-12)) ok = false;
    if (ok) best = std::min(best, *std::max_element(load.begin(), load.end()));
    int k = 0;
    while (k < L && ++dev[k] == G) dev[k++] = 0;
    if (k == L) break;
  }
  return best;
}

enum class Kind { identical, mixed, unrelated, duplicates };

PlacementProblem random_instance(Rng& rng, Kind kind, bool memory) {
  int G = 1 + int(rng.below(4));                       // 1..4
  int L = 2 + int(rng.below(G <= 3 ? 9 : 7));          // 2..10 (2..8 on 4 devices)
  std::vector<double> work(L), speed(G, 1.0), mem(L, 0.0), cap;
  for (int l = 0; l < L; ++l)
    work[l] = kind == Kind::duplicates ? double(1 + rng.below(4)) : rng.uniform(1, 100);
  if (kind == Kind::mixed || kind == Kind::unrelated)
    for (int g = 0; g < G; ++g) speed[g] = std::vector<double>{1, 3.1, 4.2, 6}[rng.below(4)];
  if (memory) {
    double total = 0;
    for (int l = 0; l < L; ++l) total += mem[l] = double(1 + rng.below(8));
    // Capacities around the average share, so many instances are tight and some infeasible.
    for (int g = 0; g < G; ++g) cap.push_back(std::ceil(total / G * rng.uniform(0.8, 1.6)));
  }
  PlacementProblem p;
  try {
    p = make_problem(work, speed, mem, cap);
  } catch (const Error&) {
    // A lane larger than every device: not a search instance; retry with a new draw.
    return random_instance(rng, kind, memory);
  }
  if (kind == Kind::unrelated)
    for (int l = 0; l < L; ++l)
      for (int g = 0; g < G; ++g) p.time[l][g] *= rng.uniform(0.5, 2.0);
  return p;
}

void check_against_brute_force(Kind kind, bool memory, uint64_t seed, int count) {
  Rng rng(seed);
  int feasible = 0, infeasible = 0;
  for (int it = 0; it < count; ++it) {
    PlacementProblem p = random_instance(rng, kind, memory);
    double opt = brute_force(p);
    INFO("instance " << it << ": L=" << p.lanes() << " G=" << p.devices());
    if (std::isinf(opt)) {
      ++infeasible;
      CHECK_THROWS_WITH(place(p, "exact"), Catch::Contains("no placement fits all lanes"));
      continue;
    }
    ++feasible;
    Placement ex = place(p, "exact");
    CHECK(ex.optimal);
    CHECK(ex.makespan == Approx(opt).epsilon(1e-9));
    CHECK(ex.lower_bound == Approx(opt).epsilon(1e-9));
    CHECK(lower_bound(p) <= opt * (1 + 1e-12));
    for (const auto& algo : placement_algorithms()) {
      if (algo == "kk" && p.devices() > 1 && kind != Kind::identical && kind != Kind::duplicates) continue;
      Placement r;
      try {
        r = place(p, algo);
      } catch (const Error& e) {
        // The list schedules backtrack on memory, so no algorithm may fail a feasible instance.
        FAIL_CHECK(algo << ": " << e.what());
        continue;
      }
      CHECK(r.makespan >= opt * (1 - 1e-12));
      CHECK(r.lower_bound <= opt * (1 + 1e-12));
    }
    CHECK(place(p, "local-search").makespan <= place(p, "greedy").makespan * (1 + 1e-12));
  }
  CHECK(feasible > count / 2);
  if (memory) CHECK(infeasible > 0);
}

}  // namespace

TEST_CASE("exact equals brute force: identical speeds", "[sched][exact]") {
  check_against_brute_force(Kind::identical, false, 101, 150);
}

TEST_CASE("exact equals brute force: identical speeds with memory limits", "[sched][exact]") {
  check_against_brute_force(Kind::identical, true, 102, 150);
}

TEST_CASE("exact equals brute force: mixed speeds", "[sched][exact]") {
  check_against_brute_force(Kind::mixed, false, 103, 150);
}

TEST_CASE("exact equals brute force: mixed speeds with memory limits", "[sched][exact]") {
  check_against_brute_force(Kind::mixed, true, 104, 150);
}

TEST_CASE("exact equals brute force: duplicate lanes (symmetry rules)", "[sched][exact]") {
  check_against_brute_force(Kind::duplicates, false, 105, 150);
  check_against_brute_force(Kind::duplicates, true, 106, 150);
}

TEST_CASE("exact equals brute force: unrelated times per device", "[sched][exact]") {
  check_against_brute_force(Kind::unrelated, false, 107, 100);
  check_against_brute_force(Kind::unrelated, true, 108, 100);
}

TEST_CASE("exact proves 24 lanes on 4 and 8 devices within its time limit", "[sched][exact]") {
  // Paper costs d*w^2 (many equal lanes) and real-valued works (no perfect partition: the
  // optimum sits a hair above the lower bound and must be proven by search).
  Rng rng(7);
  for (bool real : {false, true})
    for (int G : {4, 8})
      for (bool mixed : {false, true})
        for (int rep = 0; rep < 2; ++rep) {
          std::vector<double> work;
          for (int l = 0; l < 24; ++l) {
            int w = 1 + int(rng.below(5)), d = 1 + int(rng.below(5));
            work.push_back(real ? rng.uniform(1, 100) : double(d * w * w));
          }
          std::vector<double> speed(G, 1.0);
          for (int g = 0; mixed && g < G; ++g) speed[g] = std::vector<double>{1, 3.1, 4.2, 6}[g % 4];
          PlacementProblem p = make_problem(work, speed);
          PlaceOptions opt;
          opt.time_limit_s = 20;
          Placement r = place(p, "exact", opt);
          INFO("real=" << real << " G=" << G << " mixed=" << mixed << " nodes=" << r.nodes
                       << " s=" << r.seconds);
          CHECK(r.optimal);
          CHECK(r.makespan <= place(p, "local-search").makespan * (1 + 1e-12));
        }
}

TEST_CASE("exact at its time limit returns the best found with a proven gap", "[sched][exact]") {
  // Real-valued lanes on identical devices: no perfect partition, so the optimum must be proven
  // by search; a microsecond is not enough.
  Rng rng(11);
  std::vector<double> work;
  for (int l = 0; l < 40; ++l) work.push_back(rng.uniform(1, 1000));
  PlacementProblem p = make_problem(work, std::vector<double>(5, 1.0));
  PlaceOptions opt;
  opt.time_limit_s = 1e-6;
  opt.kicks = 0;
  Placement r = place(p, "exact", opt);
  CHECK(r.device.size() == 40);
  CHECK(r.lower_bound <= r.makespan);
  CHECK(r.lower_bound == Approx(lower_bound(p)));
  CHECK_FALSE(r.optimal);
  CHECK(r.makespan > r.lower_bound);
  CHECK(r.makespan <= place(p, "greedy").makespan * (1 + 1e-12));
}
