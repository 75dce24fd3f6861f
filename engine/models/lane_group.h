// Lanes of one shape run as one network: the trunk convolutions of G lanes with the same
// group_key() become one convolution per stage. The first stage reads the image all lanes share,
// so their filters are concatenated along K (one conv with G times the filters); every later
// stage is a grouped convolution (groups = G: lane g's channels only see lane g's channels;
// cuDNN's group count on a GPU) or a depthwise conv over all G lanes' channels. The trunk output
// is split back per lane and each lane finishes with its own from_trunk(). Parameters stay per
// lane: each step concatenates the lanes' filters (and splits their gradients), a copy that is
// small next to the convolutions it merges. Small lanes are bound by launch latency, so one
// launch for G lanes is the point; whether it wins is measured (bench/step --group-lanes).
#pragma once
#include <vector>

#include "engine/models/lanes.h"

namespace mlcn {

class LaneGroup {
 public:
  // lanes: equal non-empty group_key(); throws otherwise.
  explicit LaneGroup(std::vector<Lane*> lanes);
  // x (B, H, W, C) -> one (B, classes, D) output per lane, in the order given.
  std::vector<Var> forward(Tape& t, const Var& x) const;
  size_t size() const { return lanes_.size(); }

 private:
  std::vector<Lane*> lanes_;
};

// Partitions `lanes` (indices into the model's lanes, all on one device) into groups of equal
// group_key(), in order of first appearance; lanes without a key are groups of one.
std::vector<std::vector<size_t>> group_lanes(const std::vector<Lane*>& all, const std::vector<size_t>& lanes);

}  // namespace mlcn
