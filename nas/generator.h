// The lane generator and bucket filling of spec §4.4, steered so that the buckets end with
// equal times (issue 12). Every bucket gets one time target T = the least over buckets of
// min(load limit, memory limit x the family's mean load-per-byte on that bucket): the time a
// bucket reaches when memory binds first with uniformly drawn lanes. A lane fits a bucket
// when the bucket's memory plus the lane's memory bound stays within the memory limit and its
// load plus the lane's time on that bucket stays within T (both compared with a relative
// tolerance of 1e-9, so a lane that brings a bucket exactly to a limit is taken despite
// rounding in the sums). Filling repeats: take the open bucket with the lowest load / T (ties
// drawn at random); draw a lane uniformly among those that fit it, but when the bucket is
// behind (its remaining time per remaining byte exceeds the family's mean) only among the
// fitting lanes at least that time-dense, so memory does not run out before the time does;
// mark the bucket full when no lane fits. The bucket each lane was drawn for is its placement.
// Each model reports its balance: largest / mean bucket time.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::ordered_json

#include "base/rng.h"  // defines: Rng
#include "nas/search_space.h"  // defines: SearchSpace

namespace mlcn {

struct BucketUse {
  double memory_bytes = 0;
  double load = 0;
  int lanes = 0;
};

struct GeneratedModel {
  int64_t id = 0;
  std::vector<LaneDesc> lanes;
  std::vector<int> bucket;           // (L) bucket index of each lane: the placement
  std::vector<BucketUse> use;        // (B) what the lanes take of each bucket
  double predicted_step_time = 0;    // sched step-time simulator on the buckets as devices
  double balance = 0;                // largest / mean bucket time (load); 0 for no lanes
};

class ModelGenerator {
 public:
  // Checks the space; precomputes every valid lane of the family with its memory bound and
  // its load on each bucket. Throws when the family has no valid lane or none fits any bucket.
  explicit ModelGenerator(SearchSpace space);

  const SearchSpace& space() const { return space_; }
  // Valid lanes of the family, widths then depths ascending.
  const std::vector<LaneDesc>& candidates() const { return lanes_; }
  double lane_memory(int c) const { return mem_[c]; }
  double lane_load(int c, int b) const { return load_[c][b]; }
  // The time target T of every bucket (see above): at most each bucket's load limit.
  double time_target() const { return target_; }
  // Whether candidate c fits bucket b on top of `use` (memory limit and T, tolerance 1e-9).
  bool fits(int c, int b, const BucketUse& use) const;
  // Indices of the candidates that fit bucket b on top of `use`.
  std::vector<int> fitting(int b, const BucketUse& use) const;
  // A fitting candidate drawn as described above (steered when the bucket is behind), or -1
  // when none fits.
  int random_lane(int b, const BucketUse& use, Rng& rng) const;

  // One model drawn with rng (id left 0).
  GeneratedModel fill(Rng& rng) const;
  // Model `id` of the stream `seed`: fill(Rng(seed).fork(id)), so a model does not depend on
  // how many others were drawn before it.
  GeneratedModel generate(uint64_t seed, int64_t id) const;

 private:
  SearchSpace space_;
  std::vector<LaneDesc> lanes_;
  std::vector<double> mem_;
  std::vector<std::vector<double>> load_;  // (candidates, buckets)
  std::vector<double> density_;            // (buckets) family's mean load per byte on the bucket
  double target_ = 0;
};

// Largest / mean bucket load of a model's bucket use (1 = perfectly balanced; 0: no load).
double bucket_balance(const std::vector<BucketUse>& use);

// Lanes as a training config's model.lanes: [{"type", "width", "depth"}, ...].
nlohmann::json lanes_config_json(const std::vector<LaneDesc>& lanes);
// id, lanes, placement, buckets [{name, lanes, memory_gib, memory_fraction, load,
// load_fraction}], load, balance, parameters, predicted_step_time, step_time_unit.
nlohmann::ordered_json model_to_json(const GeneratedModel& m, const SearchSpace& s);

}  // namespace mlcn
