// The per-lane networks. Each lane maps the image x (B, H, W, C) to capsule outputs
// (B, classes, D): D = 1 for an MLCN lane (its 10-D class vector becomes one dimension of
// every class capsule, spec 1.1), D = 16 for CapsNet's digit capsules (spec 2), which is a
// one-lane model in this engine. Every shape is derived from the input and the lane spec.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/models/param.h"
#include "engine/ops/ops.h"  // defines: Act

namespace mlcn {

struct InputShape {
  int64_t H = 28, W = 28, C = 1, classes = 10;
};

struct LaneSpec {
  std::string type = "mlcn1";  // mlcn1 | mlcn2 | capsnet
  int width = 1, depth = 1;
};

struct LaneOptions {
  int routings = 3;
  bool fast_caps = true;   // J = 1 capsule layer as one GEMM (MLCN); false: predict + routing
  bool stop_grad = false;  // routing gradient mode (CapsNet)
  DType dtype = DType::F32;
};

// Capsules per stacked level of an mlcn1 lane (spec 1.3); throws naming the lane when invalid.
std::vector<int64_t> mlcn1_levels(const LaneSpec& spec, const InputShape& in);

// One convolution of a lane's trunk: the layers from the image to the primary-capsule conv.
struct TrunkStage {
  Param* w = nullptr;  // (K, kh, kw, C); depthwise: (C, kh, kw)
  Param* b = nullptr;  // (K) or null
  int stride = 1;
  bool same = false, depthwise = false, relu = false;
};

class Lane {
 public:
  virtual ~Lane() = default;
  // x (B, H, W, C) -> (B, classes, out_dim()): the trunk, then from_trunk().
  Var forward(Tape& t, const Var& x);
  // The layers after the trunk: p (B, Hk, Wk, Ck), the primary conv's output -> (B, classes, D).
  virtual Var from_trunk(Tape& t, const Var& p) = 0;
  // Lanes with equal, non-empty keys have trunks of identical shapes: a LaneGroup can run them
  // as one (engine/models/lane_group.h).
  virtual std::string group_key() const { return ""; }
  const std::vector<TrunkStage>& trunk() const { return trunk_; }
  virtual int64_t out_dim() const = 0;
  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }
  int64_t num_params() const;
  // Glorot-uniform weights and zero biases from the seeded stream.
  void init(Rng& rng);

 protected:
  struct Conv {
    Param* w = nullptr;
    Param* b = nullptr;
    int stride = 1;
    bool same = false;
  };
  Conv add_conv(const std::string& name, int64_t K, int64_t kh, int64_t kw, int64_t C, int stride, bool same, bool bias);
  Param* add_param(const std::string& name, const Shape& shape, ParamLayout layout, double fan_in, double fan_out);
  // x (B,H,W,C) through conv c, with act fused after its bias
  Var apply(Tape& t, const Conv& c, const Var& x, Act act = Act::None) const;
  void add_stage(const Conv& c, bool relu) { trunk_.push_back({c.w, c.b, c.stride, c.same, false, relu}); }

  std::string prefix_;
  LaneOptions opt_;
  std::vector<Param> params_;
  std::vector<TrunkStage> trunk_;
  std::vector<std::pair<double, double>> fans_;  // (fan_in, fan_out) per parameter; 0,0 for biases
};

// Builds the lane for `spec` (prefix e.g. "lanes.3." or "" for CapsNet).
std::unique_ptr<Lane> make_lane(const LaneSpec& spec, const InputShape& in, const LaneOptions& opt,
                                const std::string& prefix);

}  // namespace mlcn
