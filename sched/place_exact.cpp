// exact: bin-oriented branch and bound (sequential number partitioning, Korf, Schreiber and
// Moffitt 2013, extended to device speeds and memory). Devices are filled one at a time, the
// slowest first; for device k every subset S of the remaining lanes is tried that
//   - finishes before the incumbent T:      sum_{l in S} time[l][k] < T,
//   - fits its memory:                      sum_{l in S} mem[l] <= cap_k,
//   - leaves the later devices a chance:    sum_{l not in S} w_l <= T * sum_{h > k} speed_h
//     (w_l = min_g time[l][g] * speed_g) and the rest of the memory fits their capacities,
// and the last device takes what remains. Symmetries removed (docs/sched.md):
//   - identical lanes (same times and memory) form blocks; a device takes a prefix of the
//     block's remaining members, so only counts are enumerated;
//   - consecutive devices of one class (same times for every lane, same capacity) hold
//     subsets with increasing smallest lane index (empty ones last); hence a device of the
//     last class must take the smallest remaining lane;
//   - a state (device k, remaining lanes, symmetry constraint) whose subtree was searched to
//     the end without finding a placement is remembered exactly and never searched again.
//     Only such states: a subtree that found one proved nothing about the devices k.. alone
//     (its placement's makespan may be set by a device before k), so remembering it would cut
//     better completions reached by another prefix (issue 12: that made exact order-dependent
//     and claim optimality on mixed speeds with binding memory).
// Any completion is an improvement (every device finishes before T), so T drops as the
// search goes. At the time limit the incumbent is returned with the root lower bound.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "base/check.h"   // defines: MLCN_CHECK, MLCN_FAIL
#include "sched/place_common.h"  // defines: fits, makespan_of
#include "sched/placement.h"

namespace mlcn {

using place_detail::fits;

namespace {

constexpr size_t kMemoMax = size_t(1) << 20;  // remembered states (about 64 MiB at most)
constexpr int kNoConstraint = -2;             // previous device is of another class
constexpr int kPrevEmpty = -1;                // previous device of this class holds nothing

struct StateKey {
  uint64_t rem;
  int32_t k, prev;
  bool operator==(const StateKey& o) const { return rem == o.rem && k == o.k && prev == o.prev; }
};
struct StateHash {
  size_t operator()(const StateKey& s) const {
    uint64_t h = s.rem * 0x9E3779B97F4A7C15ULL ^ (uint64_t(uint32_t(s.k)) << 32 | uint32_t(s.prev));
    h ^= h >> 29;
    return size_t(h * 0xBF58476D1CE4E5B9ULL);
  }
};

class BinSearch {
 public:
  // Stops at the time limit, after node_limit nodes, or (first_only) at the first placement.
  BinSearch(const PlacementProblem& p, double time_limit_s, int64_t node_limit = INT64_MAX,
            bool first_only = false)
      : p_(p), L_(p.lanes()), G_(p.devices()), node_limit_(node_limit), first_only_(first_only) {
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(std::max(0.0, time_limit_s)));
    // Lanes: decreasing work, identical lanes adjacent.
    std::vector<double> work(L_, 0.0);
    for (int l = 0; l < L_; ++l) {
      for (int g = 0; g < G_; ++g) work[l] += p.time[l][g] * p.speed[g];
      work[l] /= G_;
    }
    lane_.resize(L_);
    std::iota(lane_.begin(), lane_.end(), 0);
    std::stable_sort(lane_.begin(), lane_.end(), [&](int a, int b) {
      if (work[a] != work[b]) return work[a] > work[b];
      if (p.mem[a] != p.mem[b]) return p.mem[a] > p.mem[b];
      return p.time[a] < p.time[b];
    });
    // Devices: slowest first, classes contiguous.
    dev_.resize(G_);
    std::iota(dev_.begin(), dev_.end(), 0);
    std::stable_sort(dev_.begin(), dev_.end(), [&](int a, int b) {
      if (p.speed[a] != p.speed[b]) return p.speed[a] < p.speed[b];
      return p.capacity[a] < p.capacity[b];
    });
    cls_.assign(G_, 0);
    for (int k = 1; k < G_; ++k) {
      int a = dev_[k - 1], b = dev_[k];
      bool same = p.capacity[a] == p.capacity[b];
      for (int l = 0; same && l < L_; ++l) same = p.time[l][a] == p.time[l][b];
      cls_[k] = same ? cls_[k - 1] : cls_[k - 1] + 1;
    }
    speed_after_.assign(G_ + 1, 0.0);
    cap_after_.assign(G_ + 1, 0.0);
    for (int k = G_ - 1; k >= 0; --k) {
      speed_after_[k] = speed_after_[k + 1] + p.speed[dev_[k]];
      double c = p.capacity[dev_[k]];
      cap_after_[k] = (c <= 0 || std::isinf(cap_after_[k + 1])) ? INFINITY : cap_after_[k + 1] + c;
    }
    // Per sorted lane: time on each device (in device order), memory, normalised work.
    t_.assign(L_, std::vector<double>(G_));
    m_.resize(L_);
    w_.resize(L_);
    for (int i = 0; i < L_; ++i) {
      int l = lane_[i];
      for (int k = 0; k < G_; ++k) t_[i][k] = p.time[l][dev_[k]];
      m_[i] = p.mem[l];
      w_[i] = INFINITY;
      for (int g = 0; g < G_; ++g)
        if (fits(0, m_[i], p.capacity[g])) w_[i] = std::min(w_[i], p.time[l][g] * p.speed[g]);
    }
    // Related speeds (time * speed the same on every device): lanes are in decreasing work.
    related_ = true;
    for (int i = 0; i < L_ && related_; ++i)
      for (int k = 0; k < G_ && related_; ++k)
        related_ = std::fabs(t_[i][k] * p.speed[dev_[k]] - w_[i]) <= 1e-9 * std::max(1.0, w_[i]);
    for (int i = 1; i < L_ && related_; ++i) related_ = w_[i] <= w_[i - 1];
    for (int i = 0; i < L_;) {
      int j = i + 1;
      while (j < L_ && t_[j] == t_[i] && m_[j] == m_[i]) ++j;
      blocks_.push_back({i, j});
      i = j;
    }
    // Per device: the lanes that fit it and need memory, least time per byte first.
    by_density_.assign(G_, {});
    for (int k = 0; k < G_; ++k) {
      for (int i = 0; i < L_; ++i)
        if (m_[i] > 0 && fits(0, m_[i], p.capacity[dev_[k]])) by_density_[k].push_back(i);
      std::stable_sort(by_density_[k].begin(), by_density_[k].end(), [&](int a, int b) {
        return t_[a][k] * m_[b] < t_[b][k] * m_[a];
      });
    }
    load_.assign(G_, 0.0);
    subset_.assign(G_, 0);
    suffix_w_.assign(G_, std::vector<double>(blocks_.size() + 1));
    suffix_m_.assign(G_, std::vector<double>(blocks_.size() + 1));
  }

  // Searches below the incumbent `start` (empty: none). Returns the best assignment in the
  // problem's lane and device indices (empty when none fits).
  std::vector<int> run(const std::vector<int>& start) {
    best_ = start;
    ub_ = start.empty() ? INFINITY : place_detail::makespan_of(p_, start);
    uint64_t all = L_ == 64 ? ~uint64_t(0) : (uint64_t(1) << L_) - 1;
    fill(0, all, kNoConstraint);
    return best_;
  }
  // Searches for any placement with makespan below T (empty when none was found).
  std::vector<int> run_below(double T) {
    best_.clear();
    ub_ = T;
    uint64_t all = L_ == 64 ? ~uint64_t(0) : (uint64_t(1) << L_) - 1;
    fill(0, all, kNoConstraint);
    return best_;
  }
  bool timed_out() const { return timed_out_; }
  int64_t nodes() const { return nodes_; }

 private:
  double target() const { return std::isinf(ub_) ? ub_ : ub_ - 1e-9 * ub_; }

  bool out_of_time() {
    if ((++nodes_ & 1023) == 0 && std::chrono::steady_clock::now() > deadline_) timed_out_ = true;
    if (nodes_ >= node_limit_) timed_out_ = true;
    return timed_out_;
  }

  static int lowest(uint64_t x) { return x ? __builtin_ctzll(x) : -1; }

  // The remaining members of a block are a suffix of it; returns their count and first index.
  int block_avail(int b, uint64_t allowed, int* first) const {
    int c = 0;
    *first = -1;
    for (int i = blocks_[b].first; i < blocks_[b].second; ++i)
      if (allowed >> i & 1) {
        if (*first < 0) *first = i;
        ++c;
      }
    return c;
  }

  void fill(int k, uint64_t rem, int prev) {
    if (out_of_time()) return;
    // An improvement found since device k-1 was filled may have made a filled device critical.
    for (int j = 0; j < k; ++j)
      if (!(load_[j] < target())) return;
    if (k == G_ - 1) {
      finish(rem, prev);
      return;
    }
    StateKey key{rem, k, prev};
    if (failed_.count(key)) return;
    // Lanes device k may take under the class ordering.
    uint64_t allowed = rem;
    if (prev == kPrevEmpty) allowed = 0;
    if (prev >= 0) allowed &= ~((uint64_t(2) << prev) - 1);
    // A device of the last class must take the smallest remaining lane.
    int must = (cls_[k] == cls_[G_ - 1] && rem) ? lowest(rem) : -1;
    if (must >= 0 && !(allowed >> must & 1)) {
      remember(key);
      return;
    }
    double rem_w = 0, rem_m = 0;
    for (int i = 0; i < L_; ++i)
      if (rem >> i & 1) rem_w += w_[i], rem_m += m_[i];
    const double T = target();
    if (!memory_fill_ok(k, rem, rem_m, T) || !preemptive_ok(k, rem, T)) {
      remember(key);
      return;
    }
    const double lo_w = std::isinf(T) ? -INFINITY : rem_w - T * speed_after_[k + 1];
    const double lo_m = std::isinf(cap_after_[k + 1]) ? -INFINITY : rem_m - cap_after_[k + 1];
    auto& sw = suffix_w_[k];
    auto& sm = suffix_m_[k];
    const int B = int(blocks_.size());
    sw[B] = sm[B] = 0;
    for (int b = B - 1; b >= 0; --b) {
      int first;
      int c = block_avail(b, allowed, &first);
      sw[b] = sw[b + 1] + c * w_[blocks_[b].first];
      sm[b] = sm[b + 1] + c * m_[blocks_[b].first];
    }
    if (sw[0] < lo_w * (1 - 1e-12) || sm[0] < lo_m * (1 - 1e-12)) {
      remember(key);
      return;
    }
    subset_[k] = 0;
    load_[k] = 0;
    const int64_t found_before = found_;
    enumerate(k, 0, rem, allowed, must, 0.0, 0.0, 0.0, lo_w, lo_m);
    if (found_ == found_before) remember(key);
  }

  // Devices k.. hold the remaining lanes, so device h >= k holds at least rem_m minus the
  // others' capacity; covering that with the lanes of least time per byte (fractionally)
  // bounds its load from below. False when that bound reaches T or the bytes cannot be held.
  bool memory_fill_ok(int k, uint64_t rem, double rem_m, double T) const {
    if (std::isinf(cap_after_[k])) return true;
    for (int h = k; h < G_; ++h) {
      double need = rem_m - (cap_after_[k] - p_.capacity[dev_[h]]);
      if (need <= 0) continue;
      double t = 0;
      for (int i : by_density_[h]) {
        if (!(rem >> i & 1)) continue;
        const double take = std::min(need, m_[i]);
        t += t_[i][h] / m_[i] * take;
        need -= take;
        if (need <= 0) break;
      }
      if (need > 1e-9 * rem_m || t >= T * (1 + 1e-10)) return false;
    }
    return true;
  }

  // Related speeds: the j largest remaining lanes need at least their work over the speed of
  // the j fastest remaining devices (the last j in device order) each, so their total work
  // is below T times that speed sum (the preemptive bound of Q|pmtn|Cmax). False if not.
  bool preemptive_ok(int k, uint64_t rem, double T) const {
    if (!related_ || std::isinf(T)) return true;
    double w = 0, s = 0;
    int h = G_ - 1;
    for (uint64_t r = rem; r && h >= k; r &= r - 1, --h) {
      w += w_[__builtin_ctzll(r)];
      s += p_.speed[dev_[h]];
      if (w >= T * s * (1 + 1e-10)) return false;
    }
    return true;
  }

  // Chooses how many of block b's allowed members device k takes (most first).
  void enumerate(int k, int b, uint64_t rem, uint64_t allowed, int must, double tsum, double wsum,
                 double msum, double lo_w, double lo_m) {
    if (out_of_time()) return;
    const int B = int(blocks_.size());
    if (wsum + suffix_w_[k][b] < lo_w * (1 - 1e-12) || msum + suffix_m_[k][b] < lo_m * (1 - 1e-12))
      return;
    if (b == B) {
      uint64_t S = subset_[k];
      if (must >= 0 && !(S >> must & 1)) return;
      load_[k] = tsum;
      int next_prev = kNoConstraint;
      if (cls_[k + 1] == cls_[k]) next_prev = S ? lowest(S) : kPrevEmpty;
      fill(k + 1, rem & ~S, next_prev);
      return;
    }
    int first;
    int avail = block_avail(b, allowed, &first);
    const int i0 = blocks_[b].first;
    const double t = t_[i0][k], w = w_[i0], m = m_[i0];
    const double cap = p_.capacity[dev_[k]];
    int lo = (must >= blocks_[b].first && must < blocks_[b].second) ? 1 : 0;
    for (int c = avail; c >= lo; --c) {
      // Checked each time: a better incumbent found below may have lowered the target.
      if (c > 0 && !(tsum + c * t < target() && fits(msum, c * m, cap))) continue;
      uint64_t take = 0;
      for (int i = first, n = 0; n < c; ++i)
        if (allowed >> i & 1) take |= uint64_t(1) << i, ++n;
      uint64_t saved = subset_[k];
      subset_[k] |= take;
      enumerate(k, b + 1, rem, allowed, must, tsum + c * t, wsum + c * w, msum + c * m, lo_w, lo_m);
      subset_[k] = saved;
      if (timed_out_) return;
    }
  }

  // The last device takes every remaining lane.
  void finish(uint64_t rem, int prev) {
    const int k = G_ - 1;
    if (prev == kPrevEmpty && rem) return;
    if (prev >= 0 && rem && lowest(rem) <= prev) return;
    double tsum = 0, msum = 0;
    for (int i = 0; i < L_; ++i)
      if (rem >> i & 1) tsum += t_[i][k], msum += m_[i];
    if (!(tsum < target()) || !fits(0, msum, p_.capacity[dev_[k]])) return;
    subset_[k] = rem;
    load_[k] = tsum;
    ub_ = *std::max_element(load_.begin(), load_.end());
    ++found_;
    best_.assign(L_, -1);
    for (int kk = 0; kk < G_; ++kk)
      for (int i = 0; i < L_; ++i)
        if (subset_[kk] >> i & 1) best_[lane_[i]] = dev_[kk];
    if (first_only_) timed_out_ = true;  // stops the search; nothing more is remembered
  }

  void remember(const StateKey& key) {
    if (!timed_out_ && failed_.size() < kMemoMax) failed_.insert(key);
  }

  const PlacementProblem& p_;
  const int L_, G_;
  const int64_t node_limit_;
  const bool first_only_;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<int> lane_, dev_, cls_;   // sorted lane -> lane, sorted device -> device, class
  std::vector<std::vector<double>> t_;  // (L, G) in sorted order
  std::vector<double> m_, w_;           // (L) in sorted order
  std::vector<std::pair<int, int>> blocks_;  // [begin, end) of identical sorted lanes
  std::vector<double> speed_after_, cap_after_;  // (G+1) sums over devices k.. in sorted order
  std::vector<std::vector<double>> suffix_w_, suffix_m_;  // per device: block suffix sums
  bool related_ = false;                // speeds only: w_ is each lane's work, decreasing
  std::vector<std::vector<int>> by_density_;  // (G) fitting lanes by time per byte
  std::vector<double> load_;            // (G) load of each filled device
  std::vector<uint64_t> subset_;        // (G) lanes of each filled device
  std::vector<int> best_;
  double ub_ = INFINITY;
  int64_t nodes_ = 0;
  int64_t found_ = 0;                   // placements found (each better than the last)
  bool timed_out_ = false;
  std::unordered_set<StateKey, StateHash> failed_;
};

}  // namespace

int find_placement_exact(const PlacementProblem& p, std::vector<int>* device, double time_limit_s) {
  MLCN_CHECK(p.lanes() <= 64, "exact: at most 64 lanes, got " << p.lanes());
  BinSearch search(p, time_limit_s, INT64_MAX, true);
  std::vector<int> found = search.run({});
  if (!found.empty()) {
    *device = found;
    return 1;
  }
  return search.timed_out() ? -1 : 0;
}

std::vector<int> improve_exact(const PlacementProblem& p, const std::vector<int>& start,
                               int64_t node_limit) {
  if (p.lanes() > 64 || p.devices() < 2) return start;
  // Bisection on the makespan between the lower bound and the incumbent: each probe looks for
  // any placement below the midpoint with an eighth of the nodes. A tight target prunes far
  // more than the incumbent does, so good placements far below a poor start are found fast.
  std::vector<int> best = start;
  double ub = place_detail::makespan_of(p, start), lo = lower_bound(p);
  for (int probe = 0; probe < 8 && ub > lo * (1 + 1e-6); ++probe) {
    const double T = lo + (ub - lo) / 2;
    BinSearch search(p, 1e9, node_limit / 8, true);
    std::vector<int> found = search.run_below(T);
    if (!found.empty()) {
      best = found;
      ub = place_detail::makespan_of(p, found);
    } else {
      lo = T;  // proven when the probe was complete; else only where the next probe looks
    }
  }
  return best;
}

Placement place_exact(const PlacementProblem& p, const std::vector<int>& start,
                      const PlaceOptions& opt) {
  MLCN_CHECK(p.lanes() <= 64, "exact: at most 64 lanes, got " << p.lanes());
  const double lb = lower_bound(p);
  std::vector<int> best = start;
  bool proven = false;
  int64_t nodes = 0;
  if (!start.empty() && place_detail::makespan_of(p, start) <= lb * (1 + 1e-9)) {
    proven = true;  // the start meets the lower bound
  } else {
    BinSearch search(p, opt.time_limit_s);
    best = search.run(start);
    nodes = search.nodes();
    proven = !search.timed_out();
    if (best.empty()) {
      MLCN_CHECK(proven, "exact: no time left to find any placement that fits memory "
                         "(raise --time-limit)");
      int big = int(std::max_element(p.mem.begin(), p.mem.end()) - p.mem.begin());
      MLCN_FAIL("exact: no placement fits all lanes in memory; "
                << (big < int(p.lane_names.size()) ? p.lane_names[big] : "lane " + std::to_string(big))
                << " (the largest) cannot fit together with the others");
    }
  }
  Placement r = evaluate(p, best);
  r.nodes = nodes;
  r.optimal = proven;
  r.lower_bound = proven ? r.makespan : lb;
  return r;
}

}  // namespace mlcn
