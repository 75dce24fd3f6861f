// mlcn1 (stacked depth, spec 1.2-1.3), mlcn2 (separable conv, spec 1.4) and CapsNet's body
// (spec 2). The capsule layer of an MLCN lane has one output capsule, so routing reduces to
// v = squash(sum_i W_i u_i) (spec 1.5): with fast_caps it is one GEMM over (B, 16 N).
#include "engine/models/lanes.h"

#include "engine/ops/ops.h"

namespace mlcn {

std::vector<int64_t> mlcn1_levels(const LaneSpec& spec, const InputShape& in) {
  MLCN_CHECK(spec.width >= 1, "lane " << spec.type << " w" << spec.width << " d" << spec.depth << ": width must be >= 1");
  MLCN_CHECK(spec.depth >= 1, "lane " << spec.type << " w" << spec.width << " d" << spec.depth << ": depth must be >= 1");
  MLCN_CHECK(in.H >= 9 + 5 && in.W >= 9 + 5, "input " << in.H << "x" << in.W << " is too small for a 9x9 conv and a 6x6 primary conv");
  const int64_t w = spec.width;
  int64_t ph = (in.H - 8 - 6) / 2 + 1, pw = (in.W - 8 - 6) / 2 + 1;
  std::vector<int64_t> n{ph * pw * 2 * w};
  for (int k = 2; k <= spec.depth; ++k) {
    int64_t prev = n.back();
    MLCN_CHECK(prev >= 14, "lane mlcn1 w" << spec.width << " d" << spec.depth << ": depth " << spec.depth
                                          << " is invalid for a " << in.H << "x" << in.W << "x" << in.C
                                          << " input (level " << k - 1 << " has " << prev
                                          << " capsules; another level needs >= 14)");
    int64_t hk = (prev - 8 - 6) / 3 + 1;
    n.push_back(2 * w * hk);
  }
  return n;
}

int64_t Lane::num_params() const {
  int64_t n = 0;
  for (const Param& p : params_) n += p.var->value.numel();
  return n;
}

void Lane::init(Rng& rng) {
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& v = params_[i].var->value;
    if (fans_[i].first == 0) v.zero_();
    else v.copy_from(glorot_uniform(v.shape(), fans_[i].first, fans_[i].second, rng, v.dtype()));
  }
}

Param* Lane::add_param(const std::string& name, const Shape& shape, ParamLayout layout, double fan_in, double fan_out) {
  // Layers hold Param pointers: the vector must never reallocate.
  MLCN_CHECK(params_.size() < params_.capacity(), "lane " << prefix_ << ": too many parameters for the reserved table");
  params_.push_back({prefix_ + name, make_var(Tensor::zeros(shape, opt_.dtype), true), layout});
  fans_.push_back({fan_in, fan_out});
  return &params_.back();
}

Lane::Conv Lane::add_conv(const std::string& name, int64_t K, int64_t kh, int64_t kw, int64_t C, int stride, bool same,
                          bool bias) {
  Conv c;
  c.w = add_param(name + ".weight", {K, kh, kw, C}, ParamLayout::ConvOHWI, double(kh * kw * C), double(kh * kw * K));
  if (bias) c.b = add_param(name + ".bias", {K}, ParamLayout::Plain, 0, 0);
  c.stride = stride;
  c.same = same;
  return c;
}

Var Lane::apply(Tape& t, const Conv& c, const Var& x, Act act) const {
  return conv2d(t, x, c.w->var, c.b ? c.b->var : nullptr, c.stride, c.same, 1, act);
}

Var Lane::forward(Tape& t, const Var& x) {
  Var h = x;
  for (const TrunkStage& s : trunk_) {
    if (s.depthwise) {
      h = depthwise_conv2d(t, h, s.w->var, s.stride, s.same);
      if (s.relu) h = relu(t, h);
    } else {  // the ReLU fused with the bias
      h = conv2d(t, h, s.w->var, s.b ? s.b->var : nullptr, s.stride, s.same, 1, s.relu ? Act::Relu : Act::None);
    }
  }
  return from_trunk(t, h);
}

namespace {

// The capsule layer shared by MLCN lanes: u (B, N, 16) -> (B, classes, 1).
class CapsJ1 {
 public:
  Param* W = nullptr;
  int64_t N = 0, classes = 0;
  Var forward(Tape& t, const Var& u, const LaneOptions& opt) const {
    const int64_t B = u->value.dim(0);
    Var v;
    if (opt.fast_caps) {
      Var s = matmul(t, reshape(t, u, {B, N * 16}), reshape(t, W->var, {N * 16, classes}));
      v = squash(t, s);
    } else {
      Var uh = predict(t, u, reshape(t, W->var, {N, 1, classes, 16}));
      v = routing(t, uh, opt.routings, opt.stop_grad, true);
    }
    return reshape(t, v, {B, classes, 1});
  }
};

class Mlcn1Lane : public Lane {
 public:
  Mlcn1Lane(const LaneSpec& s, const InputShape& in, const LaneOptions& opt, const std::string& prefix) {
    prefix_ = prefix;
    opt_ = opt;
    params_.reserve(64);  // Param pointers stay valid
    levels_ = mlcn1_levels(s, in);
    const int64_t w = s.width;
    add_stage(add_conv("conv1", 16 * w, 9, 9, in.C, 1, false, true), true);
    add_stage(add_conv("primary", 32 * w, 6, 6, 16 * w, 2, false, true), false);
    key_ = "mlcn1 w" + std::to_string(w);  // every depth shares level 0
    for (size_t k = 1; k < levels_.size(); ++k) {
      convs_.push_back(add_conv("deep_conv." + std::to_string(k - 1), 16 * w, 9, 9, 1, 1, false, true));
      prims_.push_back(add_conv("deep_primary." + std::to_string(k - 1), 32 * w, 6, 6, 16 * w, 3, false, true));
    }
    caps_.N = 0;
    for (int64_t n : levels_) caps_.N += n;
    caps_.classes = in.classes;
    caps_.W = add_layout_caps(caps_.N, in.classes);
  }
  // p: level 0's primary conv output (B, Hk, Wk, 32w): capsule n = (h*Wk + x)*2w + g.
  Var from_trunk(Tape& t, const Var& p) override {
    const int64_t B = p->value.dim(0);
    std::vector<Var> level_caps{squash(t, reshape(t, p, {B, levels_[0], 16}))};
    for (size_t k = 1; k < levels_.size(); ++k) {
      Var img = reshape(t, level_caps.back(), {B, levels_[k - 1], 16, 1});  // capsules seen as an image
      Var h = apply(t, convs_[k - 1], img, Act::Relu);
      level_caps.push_back(squash(t, reshape(t, apply(t, prims_[k - 1], h), {B, levels_[k], 16})));
    }
    Var u = level_caps.size() == 1 ? level_caps[0] : concat_caps(t, level_caps);
    return caps_.forward(t, u, opt_);
  }
  std::string group_key() const override { return key_; }
  int64_t out_dim() const override { return 1; }

 private:
  Param* add_layout_caps(int64_t N, int64_t classes) {
    // Keras: W [1, N, classes, 16]: fan_in = classes*N, fan_out = 16*N (spec 1.9)
    if (opt_.fast_caps) return add_param("W", {N, 16, classes}, ParamLayout::CapsJ1, double(classes * N), double(16 * N));
    return add_param("W", {N, classes, 16}, ParamLayout::Plain, double(classes * N), double(16 * N));
  }
  // Concatenates levels along the capsule axis: parts (B, N_k, 16) -> (B, sum N_k, 16).
  static Var concat_caps(Tape& t, const std::vector<Var>& parts) {
    const int64_t B = parts[0]->value.dim(0);
    std::vector<Var> flat;
    int64_t total = 0;
    for (const Var& p : parts) {
      flat.push_back(reshape(t, p, {B, 1, p->value.dim(1) * 16}));
      total += p->value.dim(1);
    }
    return reshape(t, concat_last(t, flat), {B, total, 16});
  }
  std::vector<int64_t> levels_;
  std::vector<Conv> convs_, prims_;  // levels 1.. (level 0 is the trunk)
  CapsJ1 caps_;
  std::string key_;
};

class Mlcn2Lane : public Lane {
 public:
  Mlcn2Lane(const LaneSpec& s, const InputShape& in, const LaneOptions& opt, const std::string& prefix) {
    MLCN_CHECK(s.depth == 1, "lane mlcn2 w" << s.width << " d" << s.depth << ": mlcn2 lanes have depth 1 only (spec 1.4)");
    MLCN_CHECK(s.width >= 1, "lane mlcn2 w" << s.width << ": width must be >= 1");
    MLCN_CHECK(in.H >= 6 + 5 && in.W >= 6 + 5, "input " << in.H << "x" << in.W << " is too small for an mlcn2 lane");
    prefix_ = prefix;
    opt_ = opt;
    params_.reserve(16);
    const int64_t f = 16 * s.width;
    add_stage(add_conv("conv1", f, 1, 1, in.C, 1, true, true), false);
    Param* dw = add_param("dw.weight", {f, 6, 6}, ParamLayout::Depthwise, 36.0 * f, 36.0);
    trunk_.push_back({dw, nullptr, 1, false, true, false});
    add_stage(add_conv("pw", f, 1, 1, f, 1, false, true), true);
    for (int i = 0; i < 3; ++i) add_stage(add_conv("c3." + std::to_string(i), f, 3, 3, f, 1, true, true), true);
    add_stage(add_conv("primary", 32 * s.width, 6, 6, f, 2, false, true), false);
    key_ = "mlcn2 w" + std::to_string(s.width);
    const int64_t h = in.H - 5, w = in.W - 5;
    caps_.N = ((h - 6) / 2 + 1) * ((w - 6) / 2 + 1) * 2 * s.width;
    caps_.classes = in.classes;
    if (opt_.fast_caps)
      caps_.W = add_param("W", {caps_.N, 16, in.classes}, ParamLayout::CapsJ1, double(in.classes * caps_.N), 16.0 * caps_.N);
    else
      caps_.W = add_param("W", {caps_.N, in.classes, 16}, ParamLayout::Plain, double(in.classes * caps_.N), 16.0 * caps_.N);
  }
  Var from_trunk(Tape& t, const Var& p) override {
    Var u = squash(t, reshape(t, p, {p->value.dim(0), caps_.N, 16}));
    return caps_.forward(t, u, opt_);
  }
  std::string group_key() const override { return key_; }
  int64_t out_dim() const override { return 1; }

 private:
  CapsJ1 caps_;
  std::string key_;
};

class CapsNetBody : public Lane {
 public:
  CapsNetBody(const InputShape& in, const LaneOptions& opt, const std::string& prefix) {
    prefix_ = prefix;
    opt_ = opt;
    params_.reserve(8);
    MLCN_CHECK(in.H >= 9 + 9 && in.W >= 9 + 9, "input " << in.H << "x" << in.W << " is too small for CapsNet");
    const int64_t ph = (in.H - 8 - 9) / 2 + 1, pw = (in.W - 8 - 9) / 2 + 1;
    N_ = ph * pw * 32;
    classes_ = in.classes;
    // Keras W [classes, N, 16, 8]: receptive field classes*N, fan_in 16, fan_out 8 (spec 1.9)
    W_ = add_param("W", {N_, in.classes, 16, 8}, ParamLayout::Plain, 16.0 * in.classes * N_, 8.0 * in.classes * N_);
    add_stage(add_conv("conv1", 256, 9, 9, in.C, 1, false, true), true);
    add_stage(add_conv("primary", 256, 9, 9, 256, 2, false, true), false);
  }
  Var from_trunk(Tape& t, const Var& p) override {
    Var u = squash(t, reshape(t, p, {p->value.dim(0), N_, 8}));
    return routing(t, predict(t, u, W_->var), opt_.routings, opt_.stop_grad, true);  // (B, classes, 16)
  }
  int64_t out_dim() const override { return 16; }

 private:
  int64_t N_ = 0, classes_ = 0;
  Param* W_ = nullptr;
};

}  // namespace

std::unique_ptr<Lane> make_lane(const LaneSpec& spec, const InputShape& in, const LaneOptions& opt,
                                const std::string& prefix) {
  if (spec.type == "mlcn1") return std::make_unique<Mlcn1Lane>(spec, in, opt, prefix);
  if (spec.type == "mlcn2") return std::make_unique<Mlcn2Lane>(spec, in, opt, prefix);
  if (spec.type == "capsnet") return std::make_unique<CapsNetBody>(in, opt, prefix);
  MLCN_FAIL("unknown lane type '" << spec.type << "' (expected mlcn1, mlcn2)");
}

}  // namespace mlcn
