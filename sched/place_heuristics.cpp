// The constructive placement algorithms: random (shuffle, i mod G), random-iid, greedy (the
// paper's Algorithm 1), greedy-ect, Karmarkar-Karp differencing, and the memory repair that
// makes the random and kk placements respect capacities. All are list schedules that
// backtrack only when memory leaves a lane no device (see ListScheduler).
#include <algorithm>
#include <numeric>
#include <queue>

#include "base/check.h"   // defines: MLCN_CHECK, MLCN_FAIL
#include "base/rng.h"     // defines: Rng
#include "sched/place_common.h"  // defines: fits, identical_devices
#include "sched/placement.h"

namespace mlcn {

using place_detail::fits;

namespace {

constexpr double kFallbackSeconds = 10;  // exact's memory search after the list schedule

// Depth-first list scheduling: lanes in `order`; each tries the devices with room in
// increasing rank(l, g, load) (ties: lower index). When a lane finds no room the search
// backtracks, so it returns the plain list schedule whenever that fits memory, and otherwise
// the first placement in the same preference order that does.
template <class Rank>
class ListScheduler {
 public:
  // symmetric: rank treats interchangeable devices in the same state alike, so only the
  // first of them is tried (not true of memory repair, which prefers a proposed device).
  ListScheduler(const PlacementProblem& p, std::vector<int> order, Rank rank, const char* algo,
                bool symmetric, long node_limit = 200000)
      : p_(p), order_(std::move(order)), rank_(rank), algo_(algo), symmetric_(symmetric),
        node_limit_(node_limit),
        device_(p.lanes(), -1), load_(p.devices(), 0.0), used_(p.devices(), 0.0),
        suffix_mem_(p.lanes() + 1, 0.0), cls_(p.devices()) {
    for (int i = p.lanes() - 1; i >= 0; --i) suffix_mem_[i] = suffix_mem_[i + 1] + p.mem[order_[i]];
    for (double c : p.capacity) limited_ = limited_ && c > 0;
    // Interchangeable devices: same capacity and same time for every lane.
    for (int g = 0; g < p.devices(); ++g) {
      cls_[g] = g;
      for (int h = 0; h < g && cls_[g] == g; ++h) {
        bool same = p.capacity[h] == p.capacity[g];
        for (int l = 0; same && l < p.lanes(); ++l) same = p.time[l][h] == p.time[l][g];
        if (same) cls_[g] = cls_[h];
      }
    }
  }
  // 1: *out is a placement that fits; 0: none exists; -1: node limit reached first.
  int search(std::vector<int>* out) {
    if (dfs(0)) {
      *out = device_;
      return 1;
    }
    return nodes_ >= node_limit_ ? -1 : 0;
  }
  // When the backtracking runs out of steps (memory that binds can make it exponential),
  // exact's complete memory search settles feasibility: a placement is returned whenever
  // one exists (issue 12).
  std::vector<int> run() {
    std::vector<int> out;
    int status = search(&out);
    if (status == -1) status = find_placement_exact(p_, &out, kFallbackSeconds);
    MLCN_CHECK(status != -1, algo_ << ": no placement fitting memory found within " << node_limit_
                                   << " list-schedule steps and " << kFallbackSeconds
                                   << " s of exhaustive search; try --algo exact");
    if (status == 0) {
      int big = int(std::max_element(p_.mem.begin(), p_.mem.end()) - p_.mem.begin());
      MLCN_FAIL(algo_ << ": no placement fits all lanes in memory; "
                      << (big < int(p_.lane_names.size()) ? p_.lane_names[big] : "lane " + std::to_string(big))
                      << " (the largest) cannot fit together with the others");
    }
    return out;
  }

 private:
  bool dfs(int i) {
    if (i == p_.lanes()) return true;
    if (++nodes_ >= node_limit_) return false;
    if (limited_) {
      double free = 0;
      for (int g = 0; g < p_.devices(); ++g) free += p_.capacity[g] - used_[g];
      if (suffix_mem_[i] > free * (1 + 1e-12)) return false;
    }
    int l = order_[i];
    std::vector<std::pair<double, int>> cand;
    for (int g = 0; g < p_.devices(); ++g) {
      if (!fits(used_[g], p_.mem[l], p_.capacity[g])) continue;
      // An interchangeable device in the same state was already a candidate: same subtree.
      bool dup = false;
      for (int h = 0; symmetric_ && h < g && !dup; ++h)
        dup = cls_[h] == cls_[g] && used_[h] == used_[g] && load_[h] == load_[g];
      if (!dup) cand.emplace_back(rank_(l, g, load_), g);
    }
    std::sort(cand.begin(), cand.end());
    for (const auto& [r, g] : cand) {
      device_[l] = g;
      load_[g] += p_.time[l][g];
      used_[g] += p_.mem[l];
      if (dfs(i + 1)) return true;
      load_[g] -= p_.time[l][g];
      used_[g] -= p_.mem[l];
      if (nodes_ >= node_limit_) return false;
    }
    device_[l] = -1;
    return false;
  }

  const PlacementProblem& p_;
  std::vector<int> order_;
  Rank rank_;
  const char* algo_;
  bool symmetric_;
  long node_limit_;
  std::vector<int> device_;
  std::vector<double> load_, used_, suffix_mem_;
  std::vector<int> cls_;  // (G) lowest index of an interchangeable device
  bool limited_ = true;
  long nodes_ = 0;
};

template <class Rank>
std::vector<int> list_schedule(const PlacementProblem& p, std::vector<int> order, Rank rank,
                               const char* algo, bool symmetric = true) {
  return ListScheduler<Rank>(p, std::move(order), rank, algo, symmetric).run();
}

std::vector<int> by_decreasing_memory(const PlacementProblem& p) {
  std::vector<int> order(p.lanes());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p.mem[a] > p.mem[b]; });
  return order;
}

}  // namespace

int find_memory_feasible(const PlacementProblem& p, std::vector<int>* device, long node_limit) {
  auto rank = [&](int l, int g, const std::vector<double>& load) { return load[g] + p.time[l][g]; };
  return ListScheduler<decltype(rank)>(p, by_decreasing_memory(p), rank, "memory search", true,
                                      node_limit)
      .search(device);
}

void repair_memory(const PlacementProblem& p, std::vector<int>* device) {
  // Each lane prefers its proposed device, then the one where it finishes earliest; lanes go
  // in decreasing order of memory. A placement that fits is returned unchanged.
  const std::vector<int> proposed = *device;
  *device = list_schedule(
      p, by_decreasing_memory(p),
      [&](int l, int g, const std::vector<double>& load) {
        return g == proposed[l] ? -1.0 : load[g] + p.time[l][g];
      },
      "memory repair", false);
}

std::vector<int> place_random(const PlacementProblem& p, uint64_t seed) {
  std::vector<int> order(p.lanes());
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  for (int i = p.lanes() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  std::vector<int> device(p.lanes());
  for (int i = 0; i < p.lanes(); ++i) device[order[i]] = i % p.devices();
  repair_memory(p, &device);
  return device;
}

std::vector<int> place_random_iid(const PlacementProblem& p, uint64_t seed) {
  Rng rng(seed);
  std::vector<int> device(p.lanes());
  for (int l = 0; l < p.lanes(); ++l) device[l] = int(rng.below(p.devices()));
  repair_memory(p, &device);
  return device;
}

std::vector<int> place_greedy(const PlacementProblem& p) {
  // "Inserts the remaining lane with the largest cost in the emptiest bin" (S1 §3.2).
  return list_schedule(
      p, lanes_by_decreasing_work(p),
      [](int, int g, const std::vector<double>& load) { return load[g]; }, "greedy");
}

std::vector<int> place_greedy_ect(const PlacementProblem& p) {
  return list_schedule(
      p, lanes_by_decreasing_work(p),
      [&](int l, int g, const std::vector<double>& load) { return load[g] + p.time[l][g]; },
      "greedy-ect");
}

std::vector<int> place_kk(const PlacementProblem& p) {
  MLCN_CHECK(place_detail::identical_devices(p),
             "kk: Karmarkar-Karp needs devices of equal speed; use local-search or exact");
  const int G = p.devices();
  // A partial solution: G subsets with their sums, kept in decreasing order of sum.
  struct Partial {
    std::vector<double> sum;
    std::vector<std::vector<int>> lanes;
    double spread() const { return sum.front() - sum.back(); }
  };
  auto cmp = [](const Partial& a, const Partial& b) { return a.spread() < b.spread(); };
  std::priority_queue<Partial, std::vector<Partial>, decltype(cmp)> heap(cmp);
  for (int l = 0; l < p.lanes(); ++l) {
    Partial s{std::vector<double>(G, 0.0), std::vector<std::vector<int>>(G)};
    s.sum[0] = p.time[l][0];
    s.lanes[0] = {l};
    heap.push(s);
  }
  while (heap.size() > 1) {
    // Difference the two most uneven partials: largest subset of one with smallest of other.
    Partial a = heap.top();
    heap.pop();
    Partial b = heap.top();
    heap.pop();
    Partial c{std::vector<double>(G), std::vector<std::vector<int>>(G)};
    for (int k = 0; k < G; ++k) {
      c.sum[k] = a.sum[k] + b.sum[G - 1 - k];
      c.lanes[k] = a.lanes[k];
      c.lanes[k].insert(c.lanes[k].end(), b.lanes[G - 1 - k].begin(), b.lanes[G - 1 - k].end());
    }
    std::vector<int> idx(G);
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](int x, int y) { return c.sum[x] > c.sum[y]; });
    Partial d{std::vector<double>(G), std::vector<std::vector<int>>(G)};
    for (int k = 0; k < G; ++k) {
      d.sum[k] = c.sum[idx[k]];
      d.lanes[k] = std::move(c.lanes[idx[k]]);
    }
    heap.push(std::move(d));
  }
  std::vector<int> device(p.lanes(), 0);
  const Partial& fin = heap.top();
  for (int k = 0; k < G; ++k)
    for (int l : fin.lanes[k]) device[l] = k;
  repair_memory(p, &device);
  return device;
}

}  // namespace mlcn
