// exact: depth-first branch and bound over "lane i goes to device g", lanes in decreasing
// order of work, devices tried in order of earliest finish. Pruning and symmetry (docs/sched.md):
//  - a device load reaching the incumbent (minus a 1e-9 relative tolerance) is cut;
//  - volume bound: the remaining lanes' normalised work must fit in the devices' slack below
//    the incumbent, weighted by speed; slack a device cannot use (too small for the smallest
//    remaining lane, or no memory for it) counts as zero;
//  - identical consecutive lanes take non-decreasing device indices;
//  - among devices of one class (same times and capacity) in the same state (load, memory),
//    only the first allowed one is tried;
//  - subtrees that failed to improve are remembered (128-bit hash of the lane index and the
//    per-class sorted device states) at lanes that start a block of identical lanes.
// At the time limit the incumbent is returned with the root lower bound and the proven gap.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "engine/core/check.h"   // defines: MLCN_CHECK, MLCN_FAIL
#include "sched/place_common.h"  // defines: fits
#include "sched/placement.h"

namespace mlcn {

using place_detail::fits;

namespace {

constexpr size_t kMemoMax = 1u << 22;  // failed-state entries kept (about 64 MiB)

struct Key {
  uint64_t a, b;
  bool operator==(const Key& o) const { return a == o.a && b == o.b; }
};
struct KeyHash {
  size_t operator()(const Key& k) const { return size_t(k.a ^ (k.b * 0x9E3779B97F4A7C15ULL)); }
};

inline uint64_t mix(uint64_t h, uint64_t x, uint64_t k) {
  h ^= x + k + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 31);
}

inline uint64_t bits(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

class BranchAndBound {
 public:
  BranchAndBound(const PlacementProblem& p, double time_limit_s)
      : p_(p), L_(p.lanes()), G_(p.devices()) {
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(std::max(0.0, time_limit_s)));
    order_ = lanes_by_decreasing_work(p);
    // Keep identical lanes adjacent: stable re-sort of equal-work runs by (mem, row).
    std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) {
      double wa = work(a), wb = work(b);
      if (wa != wb) return wa > wb;
      if (p.mem[a] != p.mem[b]) return p.mem[a] > p.mem[b];
      return p.time[a] < p.time[b];
    });
    t_.resize(L_);
    m_.resize(L_);
    w_.resize(L_);
    same_as_prev_.assign(L_, false);
    for (int i = 0; i < L_; ++i) {
      int l = order_[i];
      t_[i] = p.time[l];
      m_[i] = p.mem[l];
      w_[i] = std::numeric_limits<double>::infinity();
      for (int g = 0; g < G_; ++g)
        if (fits(0, m_[i], p.capacity[g])) w_[i] = std::min(w_[i], t_[i][g] * p.speed[g]);
      if (i > 0 && t_[i] == t_[i - 1] && m_[i] == m_[i - 1]) same_as_prev_[i] = true;
    }
    suffix_w_.assign(L_ + 1, 0.0);
    suffix_minw_.assign(L_ + 1, std::numeric_limits<double>::infinity());
    suffix_minm_.assign(L_ + 1, std::numeric_limits<double>::infinity());
    for (int i = L_ - 1; i >= 0; --i) {
      suffix_w_[i] = suffix_w_[i + 1] + w_[i];
      suffix_minw_[i] = std::min(suffix_minw_[i + 1], w_[i]);
      suffix_minm_[i] = std::min(suffix_minm_[i + 1], m_[i]);
    }
    // Device classes: same capacity and same time for every lane.
    cls_.assign(G_, -1);
    for (int g = 0; g < G_; ++g) {
      if (cls_[g] >= 0) continue;
      cls_[g] = g;
      for (int h = g + 1; h < G_; ++h) {
        bool same = cls_[h] < 0 && p.capacity[h] == p.capacity[g] && p.speed[h] == p.speed[g];
        for (int l = 0; same && l < L_; ++l) same = p.time[l][h] == p.time[l][g];
        if (same) cls_[h] = g;
      }
    }
    load_.assign(G_, 0.0);
    used_.assign(G_, 0.0);
    cur_.assign(L_, -1);
  }

  // Runs the search from an incumbent (empty: none). Returns the best assignment found
  // (in original lane indices, empty when none is feasible).
  std::vector<int> run(const std::vector<int>& start) {
    ub_ = std::numeric_limits<double>::infinity();
    if (!start.empty()) {
      best_ = start;
      ub_ = place_detail::makespan_of(p_, start);
    }
    dfs(0);
    return best_;
  }
  bool timed_out() const { return timed_out_; }
  int64_t nodes() const { return nodes_; }

 private:
  double work(int l) const {
    double s = 0;
    for (int g = 0; g < G_; ++g) s += p_.time[l][g] * p_.speed[g];
    return s / G_;
  }

  Key state_key(int i) const {
    // Per class, the sorted (load, used) pairs: states equal up to a permutation of
    // interchangeable devices share a key.
    std::vector<std::pair<double, double>> st;
    uint64_t a = 0x1234567ULL + uint64_t(i), b = 0x9876543ULL + uint64_t(i) * 31;
    for (int c = 0; c < G_; ++c) {
      if (cls_[c] != c) continue;
      st.clear();
      for (int g = c; g < G_; ++g)
        if (cls_[g] == c) st.emplace_back(load_[g], used_[g]);
      std::sort(st.begin(), st.end());
      a = mix(a, uint64_t(c) + 0xABCDEFULL, 1);
      b = mix(b, uint64_t(c) + 0x13579BULL, 2);
      for (const auto& [l, u] : st) {
        a = mix(mix(a, bits(l), 3), bits(u), 5);
        b = mix(mix(b, bits(u), 7), bits(l), 11);
      }
    }
    return {a, b};
  }

  bool out_of_time() {
    if ((nodes_ & 1023) == 0 && std::chrono::steady_clock::now() > deadline_) timed_out_ = true;
    return timed_out_;
  }

  void dfs(int i) {
    if (i == L_) {
      double ms = *std::max_element(load_.begin(), load_.end());
      if (ms < ub_ - 1e-9 * ub_ || best_.empty()) {
        ub_ = ms;
        best_.assign(L_, -1);
        for (int k = 0; k < L_; ++k) best_[order_[k]] = cur_[k];
      }
      return;
    }
    ++nodes_;
    if (out_of_time()) return;
    const bool memo_here = !same_as_prev_[i];
    Key key{0, 0};
    if (memo_here) {
      key = state_key(i);
      if (failed_.count(key)) return;
    }
    const double T = std::isinf(ub_) ? ub_ : ub_ - 1e-9 * ub_;
    if (!std::isinf(T)) {
      double room = 0;
      for (int g = 0; g < G_; ++g) {
        double slack = (T - load_[g]) * p_.speed[g];
        if (slack >= suffix_minw_[i] * (1 - 1e-12) && fits(used_[g], suffix_minm_[i], p_.capacity[g]))
          room += slack;
      }
      if (room < suffix_w_[i] * (1 - 1e-12)) {
        remember(memo_here, key);
        return;
      }
    }
    int lo = same_as_prev_[i] ? cur_[i - 1] : 0;
    int cand[64];
    int n = 0;
    for (int g = lo; g < G_; ++g) {
      if (!fits(used_[g], m_[i], p_.capacity[g]) || !(load_[g] + t_[i][g] < T)) continue;
      bool dup = false;
      for (int h = lo; h < g && !dup; ++h)
        dup = cls_[h] == cls_[g] && load_[h] == load_[g] && used_[h] == used_[g];
      if (!dup) cand[n++] = g;
    }
    std::sort(cand, cand + n, [&](int a, int b) {
      double fa = load_[a] + t_[i][a], fb = load_[b] + t_[i][b];
      return fa != fb ? fa < fb : a < b;
    });
    for (int k = 0; k < n; ++k) {
      int g = cand[k];
      if (!(load_[g] + t_[i][g] < (std::isinf(ub_) ? ub_ : ub_ - 1e-9 * ub_))) continue;
      double old_load = load_[g], old_used = used_[g];
      load_[g] += t_[i][g];
      used_[g] += m_[i];
      cur_[i] = g;
      dfs(i + 1);
      load_[g] = old_load;
      used_[g] = old_used;
      if (timed_out_) return;
    }
    remember(memo_here, key);
  }

  void remember(bool memo_here, const Key& key) {
    if (memo_here && !timed_out_ && failed_.size() < kMemoMax) failed_.insert(key);
  }

  const PlacementProblem& p_;
  const int L_, G_;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<int> order_;
  std::vector<std::vector<double>> t_;  // (L, G) in search order
  std::vector<double> m_, w_;           // (L) memory, normalised work
  std::vector<bool> same_as_prev_;      // (L) lane i identical to lane i-1
  std::vector<double> suffix_w_, suffix_minw_, suffix_minm_;  // (L+1)
  std::vector<int> cls_;                // (G) class representative
  std::vector<double> load_, used_;     // (G)
  std::vector<int> cur_, best_;         // (L) search order / original order
  double ub_ = 0;
  int64_t nodes_ = 0;
  bool timed_out_ = false;
  std::unordered_set<Key, KeyHash> failed_;
};

}  // namespace

Placement place_exact(const PlacementProblem& p, const std::vector<int>& start,
                      const PlaceOptions& opt) {
  MLCN_CHECK(p.devices() <= 64, "exact: at most 64 devices, got " << p.devices());
  const double lb = lower_bound(p);
  Placement r;
  std::vector<int> best = start;
  bool proven = false;
  int64_t nodes = 0;
  if (!start.empty() && place_detail::makespan_of(p, start) <= lb * (1 + 1e-9)) {
    proven = true;  // the start meets the lower bound
  } else {
    BranchAndBound bb(p, opt.time_limit_s);
    best = bb.run(start);
    nodes = bb.nodes();
    proven = !bb.timed_out();
    if (best.empty()) {
      MLCN_CHECK(proven, "exact: no time left to find any placement that fits memory "
                          "(raise --time-limit)");
      int big = int(std::max_element(p.mem.begin(), p.mem.end()) - p.mem.begin());
      MLCN_FAIL("exact: no placement fits all lanes in memory; "
                << (big < int(p.lane_names.size()) ? p.lane_names[big] : "lane " + std::to_string(big))
                << " (the largest) cannot fit together with the others");
    }
  }
  r = evaluate(p, best);
  r.nodes = nodes;
  r.optimal = proven;
  r.lower_bound = proven ? r.makespan : lb;
  return r;
}

}  // namespace mlcn
