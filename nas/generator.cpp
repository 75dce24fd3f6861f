// Lane generator and bucket filling (see generator.h), priced by sched's cost and memory
// models; the predicted step time comes from sched's step-time simulator.
#include "nas/generator.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "base/check.h"  // defines: MLCN_CHECK
#include "sched/placement.h"    // defines: make_problem
#include "sched/step_sim.h"     // defines: simulate_step

namespace mlcn {

namespace {

constexpr double kTolerance = 1e-9;  // relative, on both limits (rounding of the summed loads)

bool within(double used, double add, double limit) { return used + add <= limit * (1 + kTolerance); }

}  // namespace

double bucket_balance(const std::vector<BucketUse>& use) {
  double top = 0, sum = 0;
  for (const BucketUse& u : use) top = std::max(top, u.load), sum += u.load;
  return sum > 0 ? top / (sum / double(use.size())) : 0.0;
}

ModelGenerator::ModelGenerator(SearchSpace space) : space_(std::move(space)) {
  check_space(space_);
  for (int w = space_.width_min; w <= space_.width_max; ++w)
    for (int d = space_.depth_min; d <= space_.depth_max; ++d) {
      LaneDesc l = space_lane(space_, w, d);
      if (!lane_is_valid(l)) continue;
      lanes_.push_back(l);
      mem_.push_back(lane_memory_bytes(l, space_.memory));
      std::vector<double> per_bucket;
      for (const Bucket& b : space_.buckets)
        per_bucket.push_back(space_.cost.lane_time(l, DeviceSpec{b.name, b.speed, b.memory_bytes}));
      load_.push_back(per_bucket);
    }
  MLCN_CHECK(!lanes_.empty(), "nas: no valid " << space_.lane_type << " lane with width in [" << space_.width_min
                                               << ", " << space_.width_max << "] and depth in [" << space_.depth_min
                                               << ", " << space_.depth_max << "]");
  // The time target: each bucket's load limit, or the time it holds when its memory fills
  // with the family's lanes in the mix a uniform draw gives, whichever is less; the least of
  // these over the buckets that can take a lane.
  target_ = std::numeric_limits<double>::infinity();
  for (int b = 0; b < int(space_.buckets.size()); ++b) {
    const Bucket& bk = space_.buckets[b];
    double load = 0, mem = 0;
    for (size_t c = 0; c < lanes_.size(); ++c)
      if (mem_[c] <= bk.memory_bytes && load_[c][b] <= bk.load_limit) load += load_[c][b], mem += mem_[c];
    density_.push_back(mem > 0 ? load / mem : 0.0);
    if (mem > 0) target_ = std::min(target_, std::min(bk.load_limit, bk.memory_bytes * density_.back()));
  }
  bool any = false;
  for (int b = 0; b < int(space_.buckets.size()) && !any; ++b) any = !fitting(b, BucketUse{}).empty();
  MLCN_CHECK(any, "nas.buckets: no lane fits any empty bucket (the smallest lane, "
                      << lane_label(lanes_[0]) << ", needs " << mem_[0] / 1073741824.0 << " GiB and load "
                      << load_[0][0] << ")");
}

bool ModelGenerator::fits(int c, int b, const BucketUse& use) const {
  const Bucket& bk = space_.buckets[b];
  return within(use.memory_bytes, mem_[c], bk.memory_bytes) &&
         within(use.load, load_[c][b], std::min(bk.load_limit, target_));
}

std::vector<int> ModelGenerator::fitting(int b, const BucketUse& use) const {
  std::vector<int> out;
  for (int c = 0; c < int(lanes_.size()); ++c)
    if (fits(c, b, use)) out.push_back(c);
  return out;
}

int ModelGenerator::random_lane(int b, const BucketUse& use, Rng& rng) const {
  std::vector<int> cand = fitting(b, use);
  if (cand.empty()) return -1;
  // Behind: the time still to reach per byte still free exceeds the family's mean density,
  // so uniform draws would fill the memory first. Draw among the lanes dense enough.
  const double free = space_.buckets[b].memory_bytes - use.memory_bytes;
  const double need = free > 0 ? (target_ - use.load) / free : 0.0;
  if (need > density_[b]) {
    std::vector<int> dense;
    for (int c : cand)
      if (load_[c][b] >= need * mem_[c]) dense.push_back(c);
    if (!dense.empty()) cand.swap(dense);
  }
  return cand[rng.below(cand.size())];
}

GeneratedModel ModelGenerator::fill(Rng& rng) const {
  const int B = int(space_.buckets.size());
  GeneratedModel m;
  m.use.assign(B, BucketUse{});
  std::vector<bool> full(B, false);
  for (;;) {
    // The least-filled open bucket by load fraction; ties drawn uniformly.
    std::vector<int> least;
    double best = 0;
    for (int b = 0; b < B; ++b) {
      if (full[b]) continue;
      double frac = m.use[b].load / std::min(space_.buckets[b].load_limit, target_);
      if (least.empty() || frac < best) {
        least.assign(1, b);
        best = frac;
      } else if (frac == best) {
        least.push_back(b);
      }
    }
    if (least.empty()) break;
    const int b = least[rng.below(least.size())];
    const int c = random_lane(b, m.use[b], rng);
    if (c < 0) {
      full[b] = true;
      continue;
    }
    m.lanes.push_back(lanes_[c]);
    m.bucket.push_back(b);
    m.use[b].memory_bytes += mem_[c];
    m.use[b].load += load_[c][b];
    m.use[b].lanes += 1;
  }
  m.balance = bucket_balance(m.use);
  if (!m.lanes.empty()) {
    DeviceSet ds = bucket_devices(space_);
    PlacementProblem p = make_problem(m.lanes, ds, space_.cost, space_.memory);
    StepTimeParams sp;
    sp.head_device = ds.head;
    sp.head_seconds = space_.cost.head_time(space_.shape, int(m.lanes.size()), ds.devices[ds.head]);
    sp.batch = space_.shape.batch;
    sp.classes = space_.shape.classes;
    m.predicted_step_time = simulate_step(p, m.bucket, sp).total;
  }
  return m;
}

GeneratedModel ModelGenerator::generate(uint64_t seed, int64_t id) const {
  Rng rng = Rng(seed).fork(static_cast<uint64_t>(id));
  GeneratedModel m = fill(rng);
  m.id = id;
  return m;
}

nlohmann::json lanes_config_json(const std::vector<LaneDesc>& lanes) {
  nlohmann::json out = nlohmann::json::array();
  for (const LaneDesc& l : lanes) out.push_back({{"type", l.type}, {"width", l.width}, {"depth", l.depth}});
  return out;
}

nlohmann::ordered_json model_to_json(const GeneratedModel& m, const SearchSpace& s) {
  nlohmann::ordered_json j;
  j["id"] = m.id;
  nlohmann::ordered_json lanes = nlohmann::ordered_json::array();
  for (const LaneDesc& l : m.lanes) lanes.push_back({{"type", l.type}, {"width", l.width}, {"depth", l.depth}});
  j["lanes"] = lanes;
  j["placement"] = m.bucket;
  nlohmann::ordered_json buckets = nlohmann::ordered_json::array();
  for (size_t b = 0; b < m.use.size(); ++b) {
    const Bucket& bk = s.buckets[b];
    nlohmann::ordered_json e;
    e["name"] = bk.name;
    e["lanes"] = m.use[b].lanes;
    e["memory_gib"] = m.use[b].memory_bytes / double(1ull << 30);
    e["memory_fraction"] = m.use[b].memory_bytes / bk.memory_bytes;
    e["load"] = m.use[b].load;
    e["load_fraction"] = m.use[b].load / bk.load_limit;
    buckets.push_back(e);
  }
  j["buckets"] = buckets;
  double load = 0;
  int64_t params = 0;
  for (const LaneDesc& l : m.lanes) params += lane_params(l);
  for (const BucketUse& u : m.use) load += u.load;
  if (!m.lanes.empty()) params += head_params(s.shape, int(m.lanes.size()));
  j["load"] = load;
  j["balance"] = m.balance;
  j["parameters"] = params;
  j["predicted_step_time"] = m.predicted_step_time;
  j["step_time_unit"] = s.cost.kind() == CostModelKind::paper ? "paper cost units (d*w^2 / speed)" : "seconds";
  return j;
}

}  // namespace mlcn
