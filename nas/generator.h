// The lane generator and bucket filling of spec §4.4. A lane fits a bucket when the bucket's
// memory use plus the lane's memory bound stays within its memory limit and its load plus the
// lane's time on that bucket stays within its load limit. Filling repeats: take the least-
// filled bucket that is not full (lowest load / limit; ties drawn at random), add a uniformly
// drawn lane among those that fit it, or mark it full when none fits; it stops when every
// bucket is full. The bucket each lane was drawn for is its placement, so the model is
// balanced by construction.
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
  // Whether candidate c fits bucket b on top of `use`.
  bool fits(int c, int b, const BucketUse& use) const;
  // Indices of the candidates that fit bucket b on top of `use`.
  std::vector<int> fitting(int b, const BucketUse& use) const;
  // A uniformly drawn fitting candidate, or -1 when none fits.
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
};

// Lanes as a training config's model.lanes: [{"type", "width", "depth"}, ...].
nlohmann::json lanes_config_json(const std::vector<LaneDesc>& lanes);
// id, lanes, placement, buckets [{name, lanes, memory_gib, memory_fraction, load,
// load_fraction}], load, parameters, predicted_step_time, step_time_unit.
nlohmann::ordered_json model_to_json(const GeneratedModel& m, const SearchSpace& s);

}  // namespace mlcn
