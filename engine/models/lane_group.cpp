// LaneGroup: G same-shape lane trunks as one convolution per stage; see lane_group.h.
#include "engine/models/lane_group.h"

#include <map>

#include "engine/ops/ops.h"

namespace mlcn {
namespace {

// Same-shaped tensors stacked along axis 0: parts (n0, ...) -> (G n0, ...), differentiable.
Var stack_rows(Tape& t, const std::vector<Var>& parts) {
  Shape shape = parts[0]->value.shape();
  std::vector<Var> flat;
  for (const Var& p : parts) flat.push_back(reshape(t, p, {1, 1, p->value.numel()}));
  shape[0] *= static_cast<int64_t>(parts.size());
  return reshape(t, concat_last(t, flat), shape);
}

}  // namespace

LaneGroup::LaneGroup(std::vector<Lane*> lanes) : lanes_(std::move(lanes)) {
  MLCN_CHECK(!lanes_.empty(), "LaneGroup: no lanes");
  const std::string key = lanes_[0]->group_key();
  for (Lane* l : lanes_) {
    MLCN_CHECK(!key.empty() && l->group_key() == key,
               "LaneGroup: lanes '" << key << "' and '" << l->group_key() << "' cannot run as one");
    const auto& a = l->trunk();
    const auto& b = lanes_[0]->trunk();
    MLCN_CHECK(a.size() == b.size(), "LaneGroup: trunks of " << a.size() << " and " << b.size() << " stages");
    for (size_t s = 0; s < a.size(); ++s)
      MLCN_CHECK(a[s].w->var->value.shape() == b[s].w->var->value.shape() && a[s].depthwise == b[s].depthwise &&
                     a[s].stride == b[s].stride && a[s].same == b[s].same && a[s].relu == b[s].relu &&
                     (a[s].b == nullptr) == (b[s].b == nullptr),
                 "LaneGroup: trunk stage " << s << " differs between lanes of key '" << key << "'");
  }
}

std::vector<Var> LaneGroup::forward(Tape& t, const Var& x) const {
  if (lanes_.size() == 1) return {lanes_[0]->forward(t, x)};
  const int G = static_cast<int>(lanes_.size());
  Var h = x;
  const auto& stages = lanes_[0]->trunk();
  for (size_t s = 0; s < stages.size(); ++s) {
    std::vector<Var> ws, bs;
    for (Lane* l : lanes_) {
      ws.push_back(l->trunk()[s].w->var);
      if (l->trunk()[s].b) bs.push_back(l->trunk()[s].b->var);
    }
    const TrunkStage& st = stages[s];
    Var w = stack_rows(t, ws), b = bs.empty() ? nullptr : stack_rows(t, bs);
    if (st.depthwise) {
      MLCN_CHECK(s > 0, "LaneGroup: a depthwise first stage cannot read the shared image");
      h = depthwise_conv2d(t, h, w, st.stride, st.same);
      if (st.relu) h = relu(t, h);
    } else {  // stage 0: filters stacked along K; the ReLU fused with the bias
      h = conv2d(t, h, w, b, st.stride, st.same, s == 0 ? 1 : G, st.relu ? Act::Relu : Act::None);
    }
  }
  // h (B, Hk, Wk, G Ck): lane g owns channels [g Ck, (g+1) Ck).
  const Shape& hs = h->value.shape();
  const int64_t Ck = hs[3] / G;
  std::vector<Var> parts = split_last(t, reshape(t, h, {hs[0], hs[1] * hs[2], hs[3]}), std::vector<int64_t>(G, Ck));
  std::vector<Var> outs;
  for (int g = 0; g < G; ++g)
    outs.push_back(lanes_[g]->from_trunk(t, reshape(t, parts[g], {hs[0], hs[1], hs[2], Ck})));
  return outs;
}

std::vector<std::vector<size_t>> group_lanes(const std::vector<Lane*>& all, const std::vector<size_t>& lanes) {
  std::vector<std::vector<size_t>> groups;
  std::map<std::string, size_t> slot;
  for (size_t l : lanes) {
    const std::string key = all[l]->group_key();
    if (key.empty()) {
      groups.push_back({l});
      continue;
    }
    auto it = slot.find(key);
    if (it == slot.end()) {
      slot[key] = groups.size();
      groups.push_back({l});
    } else {
      groups[it->second].push_back(l);
    }
  }
  return groups;
}

}  // namespace mlcn
