// Layer shapes and per-layer costs of mlcn1/mlcn2 lanes and of the decoder head, and the
// summaries built from them (parameters, FLOPs, bytes, memory bound). Layer rules: spec
// §1.2-1.5 and §1.7; the per-layer accounting conventions are in lane_model.h.
#include "sched/lane_model.h"

#include <algorithm>
#include <sstream>

#include "base/check.h"     // defines: MLCN_CHECK, MLCN_FAIL
#include "base/datasets.h"  // defines: dataset_info

namespace mlcn {

namespace {

constexpr int kCapsDim = 16;      // primary capsule dimension (PC filters = 16 x channels)
constexpr int kMinRowsNext = 14;  // 9x9 conv needs >= 9 rows, then the 6x6 PC conv >= 6

// A convolution layer: output positions oh*ow, cout filters of k*k*cin (+ bias).
LayerCost conv_layer(const std::string& name, double in_floats, int oh, int ow, int k, int cin,
                     int cout, bool input_grad, bool activation) {
  LayerCost c;
  c.name = name;
  c.params = int64_t(k) * k * cin * cout + cout;
  double pos = double(oh) * ow;
  c.macs = pos * cout * k * k * cin;
  c.in_floats = in_floats;
  c.out_floats = pos * cout;
  c.im2col_floats = (k == 1) ? 0.0 : pos * k * k * cin;
  c.input_grad = input_grad;
  c.activation = activation;
  return c;
}

// û = W·u (one 10x16 matrix per primary capsule) and the routing loop of spec §1.5.
void add_capsule_layers(const LaneDesc& lane, int64_t n_tot, std::vector<LayerCost>* out) {
  LayerCost u;
  u.name = "caps.uhat";
  u.params = n_tot * lane.classes * kCapsDim;
  u.macs = double(n_tot) * lane.classes * kCapsDim;
  u.in_floats = double(n_tot) * kCapsDim;
  u.out_floats = double(n_tot) * lane.classes;
  out->push_back(u);
  LayerCost r;
  r.name = "routing";
  // r weighted sums over the capsules and r-1 agreement updates, as TF executed them.
  r.macs = double(n_tot) * lane.classes * (2 * lane.routings - 1);
  r.in_floats = double(n_tot) * lane.classes;
  // Kept for backward: agreement logits per iteration, s and v per iteration.
  r.out_floats = double(n_tot) * lane.routings + 2.0 * lane.classes * lane.routings;
  r.activation = false;
  out->push_back(r);
}

std::vector<LayerCost> mlcn1_layers(const LaneDesc& l, std::vector<int>* caps) {
  std::vector<LayerCost> out;
  const int w = l.width;
  int oh = l.H - 8, ow = l.W - 8;
  out.push_back(conv_layer("L1.conv", double(l.H) * l.W * l.C, oh, ow, 9, l.C, 16 * w, false,
                           true));
  int ph = (oh - 6) / 2 + 1, pw = (ow - 6) / 2 + 1;
  out.push_back(conv_layer("L1.pc", double(oh) * ow * 16 * w, ph, pw, 6, 16 * w, 32 * w, true,
                           true));
  int n = ph * pw * 2 * w;
  caps->push_back(n);
  for (int k = 2; k <= l.depth; ++k) {
    // The previous level's capsules become an image of N rows, 16 columns, 1 channel.
    std::string p = "L" + std::to_string(k);
    int ch = n - 8;
    out.push_back(conv_layer(p + ".conv", double(n) * kCapsDim, ch, 8, 9, 1, 16 * w, true, true));
    int hk = (n - kMinRowsNext) / 3 + 1;
    out.push_back(conv_layer(p + ".pc", double(ch) * 8 * 16 * w, hk, 1, 6, 16 * w, 32 * w, true,
                             true));
    n = 2 * w * hk;
    caps->push_back(n);
  }
  return out;
}

std::vector<LayerCost> mlcn2_layers(const LaneDesc& l, std::vector<int>* caps) {
  std::vector<LayerCost> out;
  const int f = 16 * l.width;
  out.push_back(conv_layer("conv1x1", double(l.H) * l.W * l.C, l.H, l.W, 1, l.C, f, false,
                           false));
  int sh = l.H - 5, sw = l.W - 5;
  // SeparableConv2D: depthwise 6x6 (no bias), then pointwise 1x1 (+bias), ReLU.
  LayerCost dw;
  dw.name = "sep.depthwise";
  dw.params = 36 * int64_t(f);
  dw.macs = double(sh) * sw * f * 36;
  dw.in_floats = double(l.H) * l.W * f;
  dw.out_floats = double(sh) * sw * f;
  dw.im2col_floats = double(sh) * sw * f * 36;
  out.push_back(dw);
  out.push_back(conv_layer("sep.pointwise", dw.out_floats, sh, sw, 1, f, f, true, true));
  for (int i = 1; i <= 3; ++i)
    out.push_back(conv_layer("conv3x3." + std::to_string(i), double(sh) * sw * f, sh, sw, 3, f, f,
                             true, true));
  int ph = (sh - 6) / 2 + 1, pw = (sw - 6) / 2 + 1;
  out.push_back(conv_layer("pc", double(sh) * sw * f, ph, pw, 6, f, 2 * f, true, true));
  caps->push_back(ph * pw * 2 * l.width);
  return out;
}

void sum_into(const std::vector<LayerCost>& layers, int batch, LaneStats* s) {
  double b = batch;
  for (const auto& c : layers) {
    s->params += c.params;
    s->fwd_macs_per_sample += c.macs;
    // Elementwise work: bias add and activation forward, their derivatives backward.
    s->fwd_flops += b * (2 * c.macs + 2 * c.out_floats);
    s->bwd_flops += b * ((c.params > 0 ? 2 * c.macs : 0) + (c.input_grad ? 2 * c.macs : 0) +
                         2 * c.out_floats);
    // Forward reads input, writes output; backward reads d(out) and the saved input and
    // writes d(in); im2col buffers are written and read once each way; weights are read
    // forward and backward and their gradient written.
    s->bytes_moved += 4 * b * (c.in_floats + c.out_floats);
    s->bytes_moved += 4 * b * (c.out_floats + c.in_floats + (c.input_grad ? c.in_floats : 0));
    s->bytes_moved += 4 * b * 4 * c.im2col_floats;
    s->bytes_moved += 4.0 * 3 * c.params;
  }
  // Adam: ~10 flops per parameter; reads w, g, m, v and writes w, m, v.
  s->optimizer_flops = 10.0 * s->params;
  s->bytes_moved += 4.0 * 7 * s->params;
  s->train_flops = s->fwd_flops + s->bwd_flops + s->optimizer_flops;
}

// The bound of lane_model.h over a list of layers; `input_floats` is what the first layer
// reads (kept on the device, no gradient).
double memory_bound(const std::vector<LayerCost>& layers, double input_floats, int batch,
                    const MemoryModelParams& mp) {
  double params = 0, saved = 0, max_col = 0;
  for (const auto& c : layers) {
    params += double(c.params);
    saved += c.out_floats * (c.activation ? 2 : 1);
    max_col = std::max(max_col, c.im2col_floats);
  }
  double floats = 4 * params + double(batch) * (input_floats + saved * (1 + mp.grad_factor) +
                                                2 * max_col);
  return 4 * floats + mp.overhead_bytes;
}

}  // namespace

bool operator==(const LaneDesc& a, const LaneDesc& b) {
  return a.type == b.type && a.width == b.width && a.depth == b.depth && a.H == b.H &&
         a.W == b.W && a.C == b.C && a.classes == b.classes && a.batch == b.batch &&
         a.routings == b.routings;
}
bool operator!=(const LaneDesc& a, const LaneDesc& b) { return !(a == b); }

std::string lane_label(const LaneDesc& l) {
  std::ostringstream os;
  os << l.type << " w=" << l.width << " d=" << l.depth << " " << l.H << "x" << l.W << "x" << l.C;
  return os.str();
}

void set_lane_input(LaneDesc& l, const std::string& dataset) {
  const DatasetInfo& d = dataset_info(dataset);
  l.H = d.H, l.W = d.W, l.C = d.C;
}

void check_lane(const LaneDesc& l, const std::string& where) {
  std::string who = (where.empty() ? "" : where + " ") + "(" + lane_label(l) + ")";
  MLCN_CHECK(l.type == "mlcn1" || l.type == "mlcn2",
             who << ": unknown lane type '" << l.type << "' (expected mlcn1 or mlcn2)");
  MLCN_CHECK(l.width >= 1 && l.depth >= 1, who << ": width and depth must be >= 1");
  MLCN_CHECK(l.classes >= 1 && l.batch >= 1 && l.routings >= 1,
             who << ": classes, batch and routings must be >= 1");
  MLCN_CHECK(l.C >= 1, who << ": input channels must be >= 1");
  if (l.type == "mlcn2") {
    MLCN_CHECK(l.depth == 1, who << ": mlcn2 lanes have depth 1 only");
    MLCN_CHECK(l.H >= 11 && l.W >= 11, who << ": mlcn2 needs an input of at least 11x11");
    return;
  }
  MLCN_CHECK(l.H >= 14 && l.W >= 14, who << ": mlcn1 needs an input of at least 14x14");
  int n = ((l.H - 14) / 2 + 1) * ((l.W - 14) / 2 + 1) * 2 * l.width;
  for (int k = 1; k < l.depth; ++k) {
    MLCN_CHECK(n >= kMinRowsNext, who << ": invalid depth " << l.depth << ": level " << k
                                      << " has N_" << k << " = " << n << " < 14 capsules, so level "
                                      << k + 1 << " cannot exist (max depth " << k << ")");
    n = 2 * l.width * ((n - kMinRowsNext) / 3 + 1);
  }
}

bool lane_is_valid(const LaneDesc& lane) {
  try {
    check_lane(lane);
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::vector<LayerCost> lane_layers(const LaneDesc& lane) {
  check_lane(lane);
  std::vector<int> caps;
  auto layers = lane.type == "mlcn2" ? mlcn2_layers(lane, &caps) : mlcn1_layers(lane, &caps);
  int64_t n_tot = 0;
  for (int n : caps) n_tot += n;
  add_capsule_layers(lane, n_tot, &layers);
  return layers;
}

std::vector<int> capsules_per_level(const LaneDesc& lane) {
  check_lane(lane);
  std::vector<int> caps;
  if (lane.type == "mlcn2")
    mlcn2_layers(lane, &caps);
  else
    mlcn1_layers(lane, &caps);
  return caps;
}

std::vector<LayerCost> head_layers(const LaneDesc& s, int lanes) {
  MLCN_CHECK(lanes >= 1, "a model needs at least one lane, got " << lanes);
  std::vector<LayerCost> out;
  double v = double(s.classes) * lanes;
  LayerCost comb;  // concat, lane dropout, length, mask, margin loss
  comb.name = "head.combine";
  comb.macs = 3 * v;
  comb.in_floats = v;
  comb.out_floats = 2 * v + s.classes;
  out.push_back(comb);
  auto fc = [&](const std::string& name, double in, double o) {
    LayerCost c;
    c.name = name;
    c.params = int64_t(in) * int64_t(o) + int64_t(o);
    c.macs = in * o;
    c.in_floats = in;
    c.out_floats = o;
    c.activation = true;
    return c;
  };
  double pixels = double(s.H) * s.W * s.C;
  out.push_back(fc("dec.fc1", v, 512));
  out.push_back(fc("dec.fc2", 512, 1024));
  out.push_back(fc("dec.fc3", 1024, pixels));
  return out;
}

LaneStats lane_stats(const LaneDesc& lane) {
  LaneStats s;
  s.caps_per_level = capsules_per_level(lane);
  for (int n : s.caps_per_level) s.n_caps += n;
  auto layers = lane_layers(lane);
  sum_into(layers, lane.batch, &s);
  for (const auto& c : layers)
    if (c.name.find(".conv") != std::string::npos || c.name.find("pc") != std::string::npos ||
        c.name.find("sep.") == 0 || c.name == "conv1x1")
      s.activation_floats_per_sample += c.out_floats;
  return s;
}

LaneStats head_stats(const LaneDesc& shape, int lanes) {
  LaneStats s;
  sum_into(head_layers(shape, lanes), shape.batch, &s);
  return s;
}

int64_t lane_params(const LaneDesc& lane) {
  int64_t p = 0;
  for (const auto& c : lane_layers(lane)) p += c.params;
  return p;
}

int64_t head_params(const LaneDesc& shape, int lanes) {
  int64_t p = 0;
  for (const auto& c : head_layers(shape, lanes)) p += c.params;
  return p;
}

double lane_memory_bytes(const LaneDesc& lane, const MemoryModelParams& mp) {
  auto layers = lane_layers(lane);
  double bytes = memory_bound(layers, double(lane.H) * lane.W * lane.C, lane.batch, mp);
  if (mp.tf1_tiled_w) {
    int64_t n_tot = 0;
    for (int n : capsules_per_level(lane)) n_tot += n;
    bytes += 4.0 * lane.batch * double(n_tot) * lane.classes * kCapsDim;
  }
  return bytes;
}

double head_memory_bytes(const LaneDesc& shape, int lanes, const MemoryModelParams& mp) {
  // The head also keeps the target image for the reconstruction loss.
  double input = double(shape.classes) * lanes + double(shape.H) * shape.W * shape.C;
  return memory_bound(head_layers(shape, lanes), input, shape.batch, mp);
}

double paper_cost(const LaneDesc& lane) {
  return double(lane.depth) * double(lane.width) * double(lane.width);
}

}  // namespace mlcn
