// Model construction, initialisation, placement, and the head's forward pass (spec 1.6-1.8).
#include "engine/models/model.h"

#include "engine/ops/ops.h"

namespace mlcn {

Head::Head(int64_t classes, int64_t caps_dim, int64_t pixels, DType dt) {
  const int64_t sizes[4] = {classes * caps_dim, 512, 1024, pixels};
  for (int i = 0; i < 3; ++i) {
    std::string n = "decoder.fc" + std::to_string(i + 1);
    params_.push_back({n + ".weight", make_var(Tensor::zeros({sizes[i + 1], sizes[i]}, dt), true), ParamLayout::Plain});
    params_.push_back({n + ".bias", make_var(Tensor::zeros({sizes[i + 1]}, dt), true), ParamLayout::Plain});
  }
}

void Head::init(Rng& rng) {
  for (size_t i = 0; i < params_.size(); i += 2) {
    Tensor& w = params_[i].var->value;
    w.copy_from(glorot_uniform(w.shape(), double(w.dim(1)), double(w.dim(0)), rng, w.dtype()).to(w.device()));
    params_[i + 1].var->value.zero_();
  }
}

HeadResult Head::forward(Tape& t, const Var& V, const Tensor& images, const Tensor& labels, const Tensor& scale,
                         bool train, double lam_recon) {
  const int64_t B = V->value.dim(0);
  HeadResult r;
  Var Vc = scale.defined() ? lane_scale(t, V, scale) : V;
  Var len = length(t, Vc);  // (B, classes)
  r.lengths = len->value;
  r.margin = margin_loss(t, len, labels);
  Var h = train ? mask(t, V, labels) : mask(t, V, argmax_rows(length(t, V)->value, t.stream_for(V->value)));
  // the decoder sees the undropped capsules (spec 1.6)
  h = dense(t, h, params_[0].var, params_[1].var, Act::Relu);
  h = dense(t, h, params_[2].var, params_[3].var, Act::Relu);
  Var x = sigmoid(t, dense(t, h, params_[4].var, params_[5].var));
  r.recon = x->value;
  r.recon_loss = mse_loss(t, x, images.reshape({B, -1}));
  r.loss = add_scaled(t, r.margin, r.recon_loss, lam_recon);
  return r;
}

HeadResult Head::forward(Tape& t, const Var& V, const Tensor& images, const std::vector<int32_t>& labels,
                         const std::vector<double>& scale, bool train, double lam_recon) {
  const Tensor& v = V->value;
  const Stream st = t.stream_for(v);
  Tensor lab = Tensor::empty({static_cast<int64_t>(labels.size())}, DType::I32);
  for (size_t b = 0; b < labels.size(); ++b) {
    MLCN_CHECK(labels[b] >= 0 && labels[b] < v.dim(1), "head: label " << labels[b] << " out of range [0, " << v.dim(1) << ")");
    lab.data<int32_t>()[b] = labels[b];
  }
  Tensor sc;
  if (!scale.empty()) {
    sc = Tensor::empty({static_cast<int64_t>(scale.size())}, v.dtype());
    MLCN_DISPATCH_FLOAT(v.dtype(), T, for (size_t l = 0; l < scale.size(); ++l) sc.data<T>()[l] = T(scale[l]));
    sc = sc.to(v.device(), st);
  }
  return forward(t, V, images, lab.to(v.device(), st), sc, train, lam_recon);
}

Model::Model(const ModelSpec& spec) : spec_(spec) {
  int64_t caps_dim = 0;
  if (spec.type == "capsnet") {
    MLCN_CHECK(spec.lanes.empty(), "model.type capsnet takes no model.lanes");
    lanes_.push_back(make_lane({"capsnet", 1, 1}, spec.input, spec.lane, ""));
  } else {
    MLCN_CHECK(spec.type == "mlcn", "model.type must be capsnet or mlcn, got '" << spec.type << "'");
    MLCN_CHECK(!spec.lanes.empty(), "model.lanes: an MLCN needs at least one lane");
    for (size_t i = 0; i < spec.lanes.size(); ++i)
      lanes_.push_back(make_lane(spec.lanes[i], spec.input, spec.lane, "lanes." + std::to_string(i) + "."));
  }
  MLCN_CHECK(spec.lane_dropout >= 0 && spec.lane_dropout < 1, "model.lane_dropout must be in [0, 1), got " << spec.lane_dropout);
  for (auto& l : lanes_) caps_dim += l->out_dim();
  head_ = std::make_unique<Head>(spec.input.classes, caps_dim, spec.input.H * spec.input.W * spec.input.C,
                                 spec.lane.dtype);
}

std::vector<Param*> Model::all_params() {
  std::vector<Param*> out;
  for (auto& l : lanes_)
    for (Param& p : l->params()) out.push_back(&p);
  for (Param& p : head_->params()) out.push_back(&p);
  return out;
}

int64_t Model::num_params() {
  int64_t n = 0;
  for (Param* p : all_params()) n += p->var->value.numel();
  return n;
}

void Model::init(uint64_t seed) {
  Rng root(seed);
  for (size_t i = 0; i < lanes_.size(); ++i) {
    Rng r = root.fork(i + 1);
    lanes_[i]->init(r);
  }
  Rng r = root.fork(0);
  head_->init(r);
}

void Model::place(const std::vector<Device>& lane_devices, Device head_device) {
  MLCN_CHECK(lane_devices.size() == lanes_.size(),
             "placement has " << lane_devices.size() << " entries for " << lanes_.size() << " lanes");
  auto move = [](Param& p, Device d) {
    p.var->value = p.var->value.to(d);
    if (p.var->grad.defined()) p.var->grad = p.var->grad.to(d);
  };
  for (size_t i = 0; i < lanes_.size(); ++i)
    for (Param& p : lanes_[i]->params()) move(p, lane_devices[i]);
  for (Param& p : head_->params()) move(p, head_device);
}

}  // namespace mlcn
