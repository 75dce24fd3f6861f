// A whole model: lanes (each on its own tape and device) plus the head, which concatenates the
// lane outputs into class capsules V (B, classes, D), applies lane dropout (classification path
// only), computes lengths and the margin loss, masks V (by label when training, by argmax
// otherwise), decodes (512-1024-H*W*C, sigmoid) and adds lam_recon * reconstruction MSE.
// CapsNet is the one-lane case with D = 16 and no dropout.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/models/lanes.h"

namespace mlcn {

struct ModelSpec {
  std::string type = "mlcn";  // mlcn | capsnet
  std::vector<LaneSpec> lanes;
  InputShape input;
  LaneOptions lane;
  double lane_dropout = 0.0;
  double lam_recon = 0.392;
};

// The outputs of one head pass, all on the head device (on a GPU nothing is read back, so the
// pass can be captured in a CUDA graph).
struct HeadResult {
  Var loss, margin, recon_loss;  // (1) each
  Tensor lengths;                // (B, classes)
  Tensor recon;                  // (B, H*W*C)
};

class Head {
 public:
  Head(int64_t classes, int64_t caps_dim, int64_t pixels, DType dt);
  // V (B, classes, D); images (B, H*W*C) target; labels (B) int32, range checked by the caller;
  // scale (L) per-lane dropout scales of V's dtype (undefined for none); all on V's device.
  // train: mask by label, else by the argmax of the lengths (read back to the host).
  HeadResult forward(Tape& t, const Var& V, const Tensor& images, const Tensor& labels, const Tensor& scale, bool train,
                     double lam_recon);
  // The same with host labels (checked) and scales (empty for none), uploaded first.
  HeadResult forward(Tape& t, const Var& V, const Tensor& images, const std::vector<int32_t>& labels,
                     const std::vector<double>& scale, bool train, double lam_recon);
  std::vector<Param>& params() { return params_; }
  void init(Rng& rng);

 private:
  std::vector<Param> params_;
};

class Model {
 public:
  explicit Model(const ModelSpec& spec);
  const ModelSpec& spec() const { return spec_; }
  size_t num_lanes() const { return lanes_.size(); }
  Lane& lane(size_t i) { return *lanes_[i]; }
  Head& head() { return *head_; }
  // Every parameter, lanes first (in lane order), then the head; names as in checkpoints.
  std::vector<Param*> all_params();
  int64_t num_params();
  void init(uint64_t seed);
  // Moves every parameter to `devices[lane]` / head_device.
  void place(const std::vector<Device>& lane_devices, Device head_device);

 private:
  ModelSpec spec_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::unique_ptr<Head> head_;
};

}  // namespace mlcn
