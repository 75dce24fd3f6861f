// Placement algorithms on hand-made and random instances: every lane placed exactly once on a
// valid device, capacities respected, infeasible instances name the lane, the textbook cases
// where greedy (LPT) is not optimal, greedy vs greedy-ect on mixed speeds, the random
// baselines' seeding, and the step-time simulator.
#include <catch2/catch.hpp>

#include <numeric>

#include "base/check.h"
#include "base/rng.h"
#include "sched/placement.h"
#include "sched/step_sim.h"

using namespace mlcn;

TEST_CASE("greedy is LPT, local-search and exact find the optimum LPT misses", "[sched][placement]") {
  // LPT on {3,3,2,2,2} and 2 devices gives 7; the optimum {3,3},{2,2,2} is 6.
  PlacementProblem p = make_problem({3, 3, 2, 2, 2}, {1, 1});
  CHECK(place(p, "greedy").makespan == 7);
  CHECK(place(p, "local-search").makespan == 6);
  Placement ex = place(p, "exact");
  CHECK(ex.makespan == 6);
  CHECK(ex.optimal);
  CHECK(place(p, "kk").makespan >= 6);
}

TEST_CASE("greedy-ect beats the paper's emptiest-bin rule on mixed speeds", "[sched][placement]") {
  // One lane of work 6 on speeds {1, 6}: both devices are empty, the emptiest-bin rule takes
  // device 0 (time 6); earliest completion takes device 1 (time 1).
  PlacementProblem p = make_problem({6}, {1, 6});
  CHECK(place(p, "greedy").makespan == 6);
  CHECK(place(p, "greedy-ect").makespan == 1);
  CHECK(place(p, "exact").makespan == 1);
}

TEST_CASE("every algorithm places every lane once and respects capacities", "[sched][placement]") {
  Rng rng(21);
  for (int it = 0; it < 40; ++it) {
    int L = 6 + int(rng.below(19)), G = 2 + int(rng.below(7));
    std::vector<double> work(L), mem(L), speed(G), cap(G);
    double total = 0;
    for (int l = 0; l < L; ++l) {
      work[l] = rng.uniform(1, 50);
      total += mem[l] = rng.uniform(1, 10);
    }
    bool mixed = it % 2;
    for (int g = 0; g < G; ++g) {
      speed[g] = mixed ? rng.uniform(1, 6) : 1.0;
      cap[g] = std::max(total / G * 1.5, 10.0);
    }
    PlacementProblem p = make_problem(work, speed, mem, cap);
    for (const auto& algo : placement_algorithms()) {
      if (algo == "kk" && mixed) {
        CHECK_THROWS_WITH(place(p, algo), Catch::Contains("equal speed"));
        continue;
      }
      PlaceOptions opt;
      opt.time_limit_s = 0.5;
      Placement r;
      try {
        r = place(p, algo, opt);
      } catch (const Error& e) {
        FAIL_CHECK(algo << " failed: " << e.what());
        continue;
      }
      INFO(algo << " on L=" << L << " G=" << G);
      REQUIRE(int(r.device.size()) == L);
      std::vector<double> used(G, 0);
      for (int l = 0; l < L; ++l) {
        REQUIRE(r.device[l] >= 0);
        REQUIRE(r.device[l] < G);
        used[r.device[l]] += mem[l];
      }
      for (int g = 0; g < G; ++g) CHECK(used[g] <= cap[g] * (1 + 1e-12));
      CHECK(r.makespan >= r.lower_bound * (1 - 1e-12));
      double sum = std::accumulate(r.load.begin(), r.load.end(), 0.0);
      double expect = 0;
      for (int l = 0; l < L; ++l) expect += p.time[l][r.device[l]];
      CHECK(sum == Approx(expect));
    }
  }
}

TEST_CASE("a lane that fits no device is an error naming it", "[sched][placement]") {
  CHECK_THROWS_WITH(make_problem({1, 2, 3}, {1, 1}, {1e9, 5e9, 1e9}, {4e9, 4e9}),
                    Catch::Contains("lane 1 needs 4.66 GiB") && Catch::Contains("largest device"));
  PlacementProblem p = make_problem({1, 2, 3}, {1, 1}, {1e9, 5e9, 1e9}, {8e9, 8e9});
  p.capacity = {4e9, 4e9};
  p.lane_names[1] = "lane 1 (mlcn1 w=5 d=5 28x28x1)";
  for (const auto& algo : placement_algorithms())
    CHECK_THROWS_WITH(place(p, algo), Catch::Contains("lane 1 (mlcn1 w=5 d=5 28x28x1)") &&
                                          Catch::Contains("largest device"));
  // Each fits alone, but not all together.
  CHECK_THROWS_WITH(make_problem({1, 1, 1}, {1, 1}, {3, 3, 3}, {4, 4}),
                    Catch::Contains("in total"));
  PlacementProblem q = make_problem({1, 1, 1}, {1, 1}, {3, 3, 2}, {4, 4.5});
  CHECK_THROWS_WITH(place(q, "exact"), Catch::Contains("no placement fits all lanes"));
}

TEST_CASE("memory decides the placement when it binds", "[sched][placement]") {
  // Two big lanes would balance best together with nothing else, but only device 1 holds one.
  PlacementProblem p = make_problem({10, 10, 1, 1}, {1, 1}, {8, 1, 1, 1}, {4, 10});
  for (const auto& algo : placement_algorithms()) {
    Placement r = place(p, algo);
    CHECK(r.device[0] == 1);
  }
  CHECK(place(p, "exact").makespan == 11);
}

TEST_CASE("random baselines are seeded and the shuffle spreads lanes evenly", "[sched][placement]") {
  std::vector<double> work(10);
  std::iota(work.begin(), work.end(), 1.0);
  PlacementProblem p = make_problem(work, {1, 1, 1, 1});
  auto a = place_random(p, 5), b = place_random(p, 5), c = place_random(p, 6);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int> count(4, 0);
  for (int g : a) ++count[g];
  CHECK(count == std::vector<int>{3, 3, 2, 2});
  CHECK(place_random_iid(p, 5) == place_random_iid(p, 5));
}

TEST_CASE("lower bounds: volume, largest lane, preemptive, pigeonhole", "[sched][placement]") {
  CHECK(lower_bound(make_problem({4, 4, 4}, {1, 1})) == 8);          // pigeonhole 4 + 4
  CHECK(lower_bound(make_problem({1, 1, 1, 1}, {1, 1})) == 2);       // volume
  CHECK(lower_bound(make_problem({12, 1}, {1, 3})) == 4);            // largest lane on fastest
  CHECK(lower_bound(make_problem({12, 12, 1}, {1, 3})) == Approx(25.0 / 4));  // volume on speeds
  CHECK(lower_bound(make_problem({12, 6, 6}, {1, 1, 4})) == Approx(4)); // preemptive: 12/4, 18/5, 24/6
}

TEST_CASE("step-time simulator adds head and exchange to the makespan", "[sched][step_sim]") {
  PlacementProblem p = make_problem({4, 2, 2}, {1, 2});
  StepTimeParams sp;
  sp.head_device = 0;
  sp.head_seconds = 0.5;
  sp.link_bytes_per_s = 8000;
  sp.batch = 100;
  sp.classes = 10;
  sp.input_floats_per_sample = 10;
  StepTime st = simulate_step(p, {1, 0, 1}, sp);
  // Loads: device 0 = 2, device 1 = (4 + 2) / 2 = 3.
  CHECK(st.lanes == 3);
  // Two remote lanes x 2 x 100 x 10 floats + one broadcast of 100 x 10 floats, 4 bytes each.
  CHECK(st.comm_bytes == 2 * 8000 + 4000);
  CHECK(st.comm == Approx(2.5));
  CHECK(st.total == Approx(3 + 0.5 + 2.5));
  sp.link_bytes_per_s = 0;
  CHECK(simulate_step(p, {1, 0, 1}, sp).comm == 0);
  CHECK_THROWS_WITH(simulate_step(p, {1, 0, 2}, sp), Catch::Contains("device index 2"));
}
