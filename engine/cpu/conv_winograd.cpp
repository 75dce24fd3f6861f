// Stride-2 convolutions as polyphase Winograd convolutions (see conv_winograd.h): the maps
// between the engine's tensors and their polyphase forms, and one cached plan per shape, flags
// and thread for each direction, holding the oneDNN primitives, the reorders between NHWC and
// oneDNN's blocked layouts, and the scratch buffers.
#include "engine/cpu/conv_winograd.h"

#include <cstring>
#include <unordered_map>
#include <vector>

#include "engine/cpu/dnnl_util.h"

namespace mlcn::cpu::winograd {
namespace {

using namespace dnnl_util;

// The stride-1 shape of the polyphase form: input (B, H/2, W/2, 4C), filters (K, kh/2, kw/2, 4C).
ConvShape polyphase(const ConvShape& s) {
  ConvShape p = s;
  p.H = s.H / 2;
  p.W = s.W / 2;
  p.C = 4 * s.C;
  p.kh = s.kh / 2;
  p.kw = s.kw / 2;
  p.stride = 1;
  return p;
}

// Calls fn(offset in x', offset in x) for every run of C channels, images in parallel: x'
// (B, H/2, W/2, 4C) holds at pixel (i, j), channel (2p + q) C + c the value of x (B, H, W, C) at
// pixel (2i + p, 2j + q), channel c.
template <class F>
void for_pixel_runs(const ConvShape& s, F fn) {
  const int64_t H2 = s.H / 2, W2 = s.W / 2, C = s.C;
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t i = 0; i < H2; ++i)
      for (int64_t j = 0; j < W2; ++j)
        for (int64_t ph = 0; ph < 4; ++ph)
          fn(((b * H2 + i) * W2 + j) * 4 * C + ph * C, ((b * s.H + 2 * i + ph / 2) * s.W + 2 * j + ph % 2) * C);
}
void space_to_depth(float* xs, const float* x, const ConvShape& s) {
  for_pixel_runs(s, [&](int64_t a, int64_t o) { std::memcpy(xs + a, x + o, sizeof(float) * s.C); });
}
// x += the inverse map of xs (the input gradient back from the polyphase form).
void depth_to_space_add(float* x, const float* xs, const ConvShape& s) {
  for_pixel_runs(s, [&](int64_t a, int64_t o) {
    for (int64_t c = 0; c < s.C; ++c) x[o + c] += xs[a + c];
  });
}

// Calls fn(offset in w', offset in w) for every run of C channels: w' (K, kh/2, kw/2, 4C) holds at
// (k, u, v, (2p + q) C + c) the value of w (K, kh, kw, C) at (k, 2u + p, 2v + q, c).
template <class F>
void for_filter_runs(const ConvShape& s, F fn) {
  const int64_t h2 = s.kh / 2, w2 = s.kw / 2, C = s.C;
  for (int64_t k = 0; k < s.K; ++k)
    for (int64_t u = 0; u < h2; ++u)
      for (int64_t v = 0; v < w2; ++v)
        for (int64_t ph = 0; ph < 4; ++ph)
          fn(((k * h2 + u) * w2 + v) * 4 * C + ph * C, ((k * s.kh + 2 * u + ph / 2) * s.kw + 2 * v + ph % 2) * C);
}
void filter_to_polyphase(float* wp, const float* w, const ConvShape& s) {
  for_filter_runs(s, [&](int64_t a, int64_t o) { std::memcpy(wp + a, w + o, sizeof(float) * s.C); });
}
void filter_from_polyphase_add(float* w, const float* wp, const ConvShape& s) {
  for_filter_runs(s, [&](int64_t a, int64_t o) {
    for (int64_t c = 0; c < s.C; ++c) w[o + c] += wp[a + c];
  });
}

constexpr auto kWino = dnnl::algorithm::convolution_winograd;

// The descriptors oneDNN's Winograd kernels are asked with: activations in any layout (they
// take only blocked ones; Staged moves the data between those and NHWC).
Descs any_layout(const Descs& d) {
  Descs a = d;
  a.src = memory::desc(d.src.dims(), f32, tag::any);
  a.dst = memory::desc(d.dst.dims(), f32, tag::any);
  return a;
}

// An NHWC / OHWI scratch tensor and the same data in the layout a primitive wants.
struct Staged {
  std::vector<float> plain;
  memory user, blocked;
  dnnl::reorder to_blocked, to_user;
  Staged(const memory::desc& user_desc, const memory::desc& want, Ctx& c)
      : plain(user_desc.get_size() / sizeof(float)), user(user_desc, c.eng, plain.data()), blocked(want, c.eng) {
    to_blocked = dnnl::reorder(user, blocked);
    to_user = dnnl::reorder(blocked, user);
  }
};

struct Forward {
  ConvShape p;
  Descs d;
  memory::desc scratch;
  dnnl::convolution_forward prim;
  std::unique_ptr<Staged> x, w;
  memory dst_user, dst, bias;
  dnnl::reorder dst_out;
  Forward(const ConvShape& s, bool has_bias, bool relu, Ctx& c) : p(polyphase(s)), d(p, has_bias) {
    const auto pd = forward_pd(any_layout(d), relu, kWino, c);
    prim = dnnl::convolution_forward(pd);
    scratch = pd.scratchpad_desc();
    x = std::make_unique<Staged>(d.src, pd.src_desc(), c);
    w = std::make_unique<Staged>(d.wei_user, pd.weights_desc(), c);
    dst = memory(pd.dst_desc(), c.eng);
    dst_user = memory(d.dst, c.eng, nullptr);
    dst_out = dnnl::reorder(dst, dst_user);
    if (has_bias) bias = memory(d.bias, c.eng, nullptr);
  }
};

// The blocked polyphase input and output gradient shared by both backward directions' plans.
struct BackwardWeights {
  ConvShape p;
  Descs d;
  memory::desc scratch;
  dnnl::convolution_backward_weights prim;
  std::unique_ptr<Staged> x, dw;
  std::unique_ptr<InputIn> dy;
  memory diff_bias;
  std::vector<float> db_scratch;
  BackwardWeights(const ConvShape& s, bool has_bias, Ctx& c) : p(polyphase(s)), d(p, has_bias) {
    const Descs a = any_layout(d);
    dnnl::convolution_backward_weights::primitive_desc pd(
        dnnl::convolution_backward_weights::desc(kWino, a.src, a.wei_any, a.bias, a.dst, a.strides, a.pad_l, a.pad_r),
        user_scratchpad(), c.eng, forward_pd(a, false, kWino, c));
    prim = dnnl::convolution_backward_weights(pd);
    scratch = pd.scratchpad_desc();
    x = std::make_unique<Staged>(d.src, pd.src_desc(), c);
    dw = std::make_unique<Staged>(d.wei_user, pd.diff_weights_desc(), c);
    dy = std::make_unique<InputIn>(d.dst, pd.diff_dst_desc(), c);
    if (has_bias) {
      db_scratch.resize(static_cast<size_t>(s.K));
      diff_bias = memory(d.bias, c.eng, db_scratch.data());
    }
  }
};

struct BackwardData {
  ConvShape p;
  Descs d;
  memory::desc scratch;
  dnnl::convolution_backward_data prim;
  std::unique_ptr<Staged> dx, w;
  std::unique_ptr<InputIn> dy;
  BackwardData(const ConvShape& s, Ctx& c) : p(polyphase(s)), d(p, false) {
    const Descs a = any_layout(d);
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(kWino, a.src, a.wei_any, a.dst, a.strides, a.pad_l, a.pad_r),
        user_scratchpad(), c.eng, forward_pd(a, false, kWino, c));
    prim = dnnl::convolution_backward_data(pd);
    scratch = pd.scratchpad_desc();
    dx = std::make_unique<Staged>(d.src, pd.diff_src_desc(), c);
    w = std::make_unique<Staged>(d.wei_user, pd.weights_desc(), c);
    dy = std::make_unique<InputIn>(d.dst, pd.diff_dst_desc(), c);
  }
};

}  // namespace

bool applies(const ConvShape& s) {
  return s.groups == 1 && s.stride == 2 && s.kh == 6 && s.kw == 6 && s.pad_h == 0 && s.pad_w == 0 && s.H % 2 == 0 &&
         s.W % 2 == 0 && (4 * s.C) % 16 == 0 && s.K % 16 == 0 && s.B > 0 && s.OH == s.H / 2 - 2 &&
         s.OW == s.W / 2 - 2;
}

bool forward(float* out, const float* in, const float* w, const float* b, bool relu, const ConvShape& s) {
  if (!applies(s)) return false;
  thread_local std::map<Key, std::unique_ptr<Forward>> cache;
  Ctx& c = ctx();
  Forward* f = cached<Forward>(cache, key_of(s, (b ? 1 : 0) | (relu ? 2 : 0)),
                               [&] { return new Forward(s, b != nullptr, relu, c); });
  if (!f) return false;
  space_to_depth(f->x->plain.data(), in, s);
  filter_to_polyphase(f->w->plain.data(), w, s);
  f->x->to_blocked.execute(c.strm, f->x->user, f->x->blocked);
  f->w->to_blocked.execute(c.strm, f->w->user, f->w->blocked);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, f->x->blocked}, {DNNL_ARG_WEIGHTS, f->w->blocked}, {DNNL_ARG_DST, f->dst},
                                       {DNNL_ARG_SCRATCHPAD, c.scratchpad(f->scratch)}};
  if (b) {
    f->bias.set_data_handle(const_cast<float*>(b));
    args[DNNL_ARG_BIAS] = f->bias;
  }
  f->prim.execute(c.strm, args);
  f->dst_user.set_data_handle(out);
  f->dst_out.execute(c.strm, f->dst, f->dst_user);
  c.strm.wait();
  return true;
}

bool backward_weights(float* dw, float* db, const float* dout, const float* in, const ConvShape& s) {
  if (!applies(s)) return false;
  thread_local std::map<Key, std::unique_ptr<BackwardWeights>> cache;
  Ctx& c = ctx();
  BackwardWeights* p =
      cached<BackwardWeights>(cache, key_of(s, db ? 1 : 0), [&] { return new BackwardWeights(s, db != nullptr, c); });
  if (!p) return false;
  space_to_depth(p->x->plain.data(), in, s);
  p->x->to_blocked.execute(c.strm, p->x->user, p->x->blocked);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, p->x->blocked}, {DNNL_ARG_DIFF_DST, p->dy->load(dout, c)}, {DNNL_ARG_DIFF_WEIGHTS, p->dw->blocked},
                                       {DNNL_ARG_SCRATCHPAD, c.scratchpad(p->scratch)}};
  if (db) args[DNNL_ARG_DIFF_BIAS] = p->diff_bias;
  p->prim.execute(c.strm, args);
  p->dw->to_user.execute(c.strm, p->dw->blocked, p->dw->user);
  c.strm.wait();
  filter_from_polyphase_add(dw, p->dw->plain.data(), s);
  if (db)
    for (int64_t k = 0; k < s.K; ++k) db[k] += p->db_scratch[static_cast<size_t>(k)];
  return true;
}

bool backward_data(float* din, const float* dout, const float* w, const ConvShape& s) {
  if (!applies(s)) return false;
  thread_local std::map<Key, std::unique_ptr<BackwardData>> cache;
  Ctx& c = ctx();
  BackwardData* p = cached<BackwardData>(cache, key_of(s, 0), [&] { return new BackwardData(s, c); });
  if (!p) return false;
  filter_to_polyphase(p->w->plain.data(), w, s);
  p->w->to_blocked.execute(c.strm, p->w->user, p->w->blocked);
  p->prim.execute(c.strm, {{DNNL_ARG_DIFF_DST, p->dy->load(dout, c)}, {DNNL_ARG_WEIGHTS, p->w->blocked}, {DNNL_ARG_DIFF_SRC, p->dx->blocked},
                           {DNNL_ARG_SCRATCHPAD, c.scratchpad(p->scratch)}});
  p->dx->to_user.execute(c.strm, p->dx->blocked, p->dx->user);
  c.strm.wait();
  depth_to_space_add(din, p->dx->plain.data(), s);
  return true;
}

}  // namespace mlcn::cpu::winograd
