// local-search: start from the best of greedy, greedy-ect and kk; repeatedly lower the most
// loaded device (the critical one) by the best single move or swap with another device, or
// by re-partitioning the lanes of the critical device and another one exactly (when they hold
// at most kPairMax lanes together); then iterated local search: seeded random kicks of 1-3
// lanes followed by the same descent, keeping the best. Every accepted step lowers the
// larger of the two loads it touches, so descent terminates, and the answer is never worse
// than its start (hence never worse than greedy).
#include <algorithm>
#include <cmath>
#include <limits>

#include "base/check.h"   // defines: Error
#include "base/rng.h"     // defines: Rng
#include "sched/place_common.h"  // defines: fits, identical_devices, makespan_of
#include "sched/placement.h"

namespace mlcn {

using place_detail::fits;

namespace {

constexpr int kPairMax = 16;  // 2^16 subsets per device pair at most

struct LsState {
  std::vector<int> dev;
  std::vector<double> load, used;
};

LsState make_state(const PlacementProblem& p, const std::vector<int>& dev) {
  LsState s{dev, std::vector<double>(p.devices(), 0.0), std::vector<double>(p.devices(), 0.0)};
  for (int l = 0; l < p.lanes(); ++l) {
    s.load[dev[l]] += p.time[l][dev[l]];
    s.used[dev[l]] += p.mem[l];
  }
  return s;
}

double makespan(const LsState& s) { return *std::max_element(s.load.begin(), s.load.end()); }

void move_lane(const PlacementProblem& p, LsState* s, int l, int to) {
  int from = s->dev[l];
  s->load[from] -= p.time[l][from];
  s->used[from] -= p.mem[l];
  s->load[to] += p.time[l][to];
  s->used[to] += p.mem[l];
  s->dev[l] = to;
}

// Best split of the lanes of devices c and h between them; returns the new max(load_c, load_h)
// and fills *to_c (bit i set: lane S[i] goes to c). Memory-infeasible splits are skipped.
double best_pair_split(const PlacementProblem& p, const std::vector<int>& S, int c, int h,
                       uint32_t* to_c) {
  const int n = int(S.size());
  const uint32_t full = (1u << n) - 1;
  // Reused between calls: fresh 2^16-entry vectors per call cost more in page faults than
  // the enumeration itself.
  static thread_local std::vector<double> tc, th, mem;
  if (tc.size() < (size_t(1) << n)) {
    tc.resize(size_t(1) << n);
    th.resize(size_t(1) << n);
    mem.resize(size_t(1) << n);
  }
  double total_h = 0, total_mem = 0;
  for (int i = 0; i < n; ++i) {
    total_h += p.time[S[i]][h];
    total_mem += p.mem[S[i]];
  }
  double best = std::numeric_limits<double>::infinity();
  tc[0] = th[0] = mem[0] = 0;
  for (uint32_t m = 0; m <= full; ++m) {
    if (m) {
      int i = __builtin_ctz(m);
      uint32_t prev = m & (m - 1);
      tc[m] = tc[prev] + p.time[S[i]][c];
      th[m] = th[prev] + p.time[S[i]][h];
      mem[m] = mem[prev] + p.mem[S[i]];
    }
    double v = std::max(tc[m], total_h - th[m]);
    if (v < best && fits(0, mem[m], p.capacity[c]) && fits(0, total_mem - mem[m], p.capacity[h])) {
      best = v;
      *to_c = m;
    }
  }
  return best;
}

// One improving step on the critical device; false at a local optimum.
bool improve_once(const PlacementProblem& p, LsState* s) {
  const int G = p.devices();
  int c = int(std::max_element(s->load.begin(), s->load.end()) - s->load.begin());
  const double M = s->load[c], target = M - 1e-12 * M;
  std::vector<int> on_c;
  for (int l = 0; l < p.lanes(); ++l)
    if (s->dev[l] == c) on_c.push_back(l);
  double best = target;
  int best_h = -1, best_a = -1, best_b = -1;
  for (int h = 0; h < G; ++h) {
    if (h == c) continue;
    for (int a : on_c) {
      if (fits(s->used[h], p.mem[a], p.capacity[h])) {
        double v = std::max(s->load[c] - p.time[a][c], s->load[h] + p.time[a][h]);
        if (v < best) best = v, best_h = h, best_a = a, best_b = -1;
      }
      for (int b = 0; b < p.lanes(); ++b) {
        if (s->dev[b] != h) continue;
        double nc = s->load[c] - p.time[a][c] + p.time[b][c];
        double nh = s->load[h] - p.time[b][h] + p.time[a][h];
        double v = std::max(nc, nh);
        if (v < best && fits(s->used[c] - p.mem[a], p.mem[b], p.capacity[c]) &&
            fits(s->used[h] - p.mem[b], p.mem[a], p.capacity[h]))
          best = v, best_h = h, best_a = a, best_b = b;
      }
    }
  }
  if (best_h >= 0) {
    move_lane(p, s, best_a, best_h);
    if (best_b >= 0) move_lane(p, s, best_b, c);
    return true;
  }
  for (int h = 0; h < G; ++h) {
    if (h == c) continue;
    std::vector<int> S = on_c;
    for (int l = 0; l < p.lanes(); ++l)
      if (s->dev[l] == h) S.push_back(l);
    if (int(S.size()) > kPairMax) continue;
    uint32_t to_c = 0;
    if (best_pair_split(p, S, c, h, &to_c) < target) {
      for (size_t i = 0; i < S.size(); ++i) move_lane(p, s, S[i], (to_c >> i) & 1u ? c : h);
      return true;
    }
  }
  // Rebalance another pair (lowering the larger of its two loads): a sideways step for the
  // makespan that can open room, in time or memory, for the critical device.
  for (int a = 0; a < G; ++a)
    for (int b = a + 1; b < G; ++b) {
      if (a == c || b == c) continue;
      std::vector<int> S;
      for (int l = 0; l < p.lanes(); ++l)
        if (s->dev[l] == a || s->dev[l] == b) S.push_back(l);
      if (S.empty() || int(S.size()) > kPairMax) continue;
      double cur = std::max(s->load[a], s->load[b]);
      uint32_t to_a = 0;
      if (best_pair_split(p, S, a, b, &to_a) < cur - 1e-12 * cur) {
        for (size_t i = 0; i < S.size(); ++i) move_lane(p, s, S[i], (to_a >> i) & 1u ? a : b);
        return true;
      }
    }
  return false;
}

void descend(const PlacementProblem& p, LsState* s) {
  while (improve_once(p, s)) {
  }
}

}  // namespace

std::vector<int> place_local_search(const PlacementProblem& p, const PlaceOptions& opt) {
  std::vector<std::vector<int>> starts;
  std::string last_error;
  auto try_start = [&](auto fn) {
    try {
      starts.push_back(fn());
    } catch (const Error& e) {
      last_error = e.message();
    }
  };
  try_start([&] { return place_greedy(p); });
  try_start([&] { return place_greedy_ect(p); });
  if (place_detail::identical_devices(p)) try_start([&] { return place_kk(p); });
  MLCN_CHECK(!starts.empty(), "local-search: no constructive placement fits memory ("
                                  << last_error << ")");
  LsState best;
  double best_ms = std::numeric_limits<double>::infinity();
  for (const auto& st : starts) {
    LsState s = make_state(p, st);
    descend(p, &s);
    if (makespan(s) < best_ms) best_ms = makespan(s), best = s;
  }
  const double lb = lower_bound(p);
  Rng rng(opt.seed);
  LsState cur = best;
  for (int k = 0; k < opt.kicks && best_ms > lb * (1 + 1e-9) && p.devices() > 1; ++k) {
    LsState s = cur;
    // A kick: 1-3 random moves or swaps (swaps still work when memory is tight).
    int moves = 1 + int(rng.below(3));
    for (int i = 0; i < moves; ++i) {
      int a = int(rng.below(p.lanes()));
      int b = int(rng.below(p.lanes()));
      int ga = s.dev[a], gb = s.dev[b];
      if (rng.below(2) && ga != gb) {
        if (fits(s.used[gb] - p.mem[b], p.mem[a], p.capacity[gb]) &&
            fits(s.used[ga] - p.mem[a], p.mem[b], p.capacity[ga])) {
          move_lane(p, &s, a, gb);
          move_lane(p, &s, b, ga);
        }
      } else {
        int to = int(rng.below(p.devices() - 1));
        if (to >= ga) ++to;
        if (fits(s.used[to], p.mem[a], p.capacity[to])) move_lane(p, &s, a, to);
      }
    }
    descend(p, &s);
    double ms = makespan(s);
    if (ms <= makespan(cur) * (1 + 1e-12)) cur = s;
    if (ms < best_ms) best_ms = ms, best = s;
  }
  // Where memory binds on mixed speeds the moves above stall well above the optimum (issue
  // 12); a node-limited run of exact's branch and bound from the best found closes most of it.
  if (best_ms > lb * (1 + 1e-9) && opt.search_nodes > 0)
    return improve_exact(p, best.dev, opt.search_nodes);
  return best.dev;
}

}  // namespace mlcn
