// Analytic model of one MLCN lane and of the head (decoder): shapes, exact parameter counts,
// forward/backward FLOPs, bytes moved and an upper bound on training memory, all computed
// from the layer rules of mlcn-spec.md §1.2 (mlcn1, depth 1), §1.3 (stacked depth) and §1.4
// (mlcn2), with the capsule layer of §1.5 and the decoder of §1.7.
// Conventions: counts are per training step at the lane's batch size unless a name ends in
// `_per_sample`; FLOPs = 2 x MACs; every tensor is fp32 (4 bytes). Pure: no engine types.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mlcn {

// One lane as the scheduler sees it. type is "mlcn1" (stacked depth allowed) or "mlcn2"
// (depth 1 only). (H, W, C) is the input image; classes is the output dimension of the lane.
struct LaneDesc {
  std::string type = "mlcn1";
  int width = 1;
  int depth = 1;
  int H = 28, W = 28, C = 1;
  int classes = 10;
  int batch = 100;
  int routings = 3;
};

bool operator==(const LaneDesc& a, const LaneDesc& b);
bool operator!=(const LaneDesc& a, const LaneDesc& b);

// "mlcn1 w=2 d=3 28x28x1", used in every error message that names a lane.
std::string lane_label(const LaneDesc& lane);

// Sets the lane's input (H, W, C) to the images of `dataset` (base/datasets.h; throws naming
// the accepted names).
void set_lane_input(LaneDesc& lane, const std::string& dataset);

// One layer of a lane or of the head, per sample: the unit the other numbers are summed from.
struct LayerCost {
  std::string name;          // "L1.conv", "L2.pc", "caps.uhat", "routing", "dec.fc1", ...
  int64_t params = 0;        // trainable parameters (weights + biases)
  double macs = 0;           // forward multiply-accumulates per sample
  double in_floats = 0;      // input activation floats per sample
  double out_floats = 0;     // output activation floats per sample
  double im2col_floats = 0;  // im2col buffer floats per sample (convolutions only)
  bool input_grad = true;    // whether backward computes d(input) (false for the image input)
  bool activation = false;   // followed by a ReLU/squash whose pre-activation is also kept
};

// Summary of a lane (or of the head) at its batch size.
struct LaneStats {
  std::vector<int> caps_per_level;  // N_1..N_d (empty for the head)
  int64_t n_caps = 0;               // N_tot
  int64_t params = 0;
  double fwd_macs_per_sample = 0;
  double fwd_flops = 0;        // whole batch
  double bwd_flops = 0;        // whole batch: d(weights) + d(inputs) + elementwise
  double optimizer_flops = 0;  // one Adam update of every parameter
  double train_flops = 0;      // fwd + bwd + optimizer: the "x" of the flops cost model
  double bytes_moved = 0;      // fp32 traffic of one training step (see docs/sched.md)
  double activation_floats_per_sample = 0;  // conv + PC outputs (spec §1.12 last column)
};

// Knobs of the memory upper bound (docs/sched.md, spec §4.2). Defaults make it an upper bound
// for an engine that keeps every layer's output, pre-activation and gradient alive at once.
struct MemoryModelParams {
  double grad_factor = 1.0;       // activation-gradient buffers alive per saved activation
  double overhead_bytes = 0;      // M_0: fixed per-lane overhead (context, allocator slack)
  bool tf1_tiled_w = false;       // add the TF1 tiled-W artefact B*N_tot*classes*16 floats (§1.5)
};

// Throws mlcn::Error naming the lane (label and `where`, e.g. "lane 3") when the type is
// unknown, a size is not positive, mlcn2 has depth > 1, or a level k+1 is requested while
// N_k < 14 (spec §1.3). `where` may be empty.
void check_lane(const LaneDesc& lane, const std::string& where = "");
bool lane_is_valid(const LaneDesc& lane);

// Capsules per level N_1..N_d (spec §1.2-1.4). Calls check_lane.
std::vector<int> capsules_per_level(const LaneDesc& lane);

// Layer-by-layer costs per sample, in forward order. Calls check_lane.
std::vector<LayerCost> lane_layers(const LaneDesc& lane);
// Decoder layers for L lanes (Dense(classes*L->512), Dense(512->1024), Dense(1024->H*W*C)).
std::vector<LayerCost> head_layers(const LaneDesc& shape, int lanes);

// Everything of LaneStats for a lane / for the head of an L-lane model.
LaneStats lane_stats(const LaneDesc& lane);
LaneStats head_stats(const LaneDesc& shape, int lanes);

int64_t lane_params(const LaneDesc& lane);
// D(L) of spec §1.7: 512*(classes*L+1) + 1024*513 + (H*W*C)*1025.
int64_t head_params(const LaneDesc& shape, int lanes);

// Upper bound in bytes on the device memory one lane needs to train at its batch size:
// 4 B x [4*P (weights, grads, Adam m, v) + B*(saved activations)*(1+grad_factor)
//        + B*(2 * largest im2col buffer) + B*H*W*C input] + overhead_bytes.
double lane_memory_bytes(const LaneDesc& lane, const MemoryModelParams& mp = {});
// The same bound for the head (decoder, length, losses) of an L-lane model.
double head_memory_bytes(const LaneDesc& shape, int lanes, const MemoryModelParams& mp = {});

// The paper's Eq. (1) cost d*w^2 (spec §4.1).
double paper_cost(const LaneDesc& lane);

}  // namespace mlcn
