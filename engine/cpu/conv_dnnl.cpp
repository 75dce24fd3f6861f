// oneDNN convolutions (see conv_dnnl.h): per-thread primitive cache keyed by shape, flags and
// OpenMP width; filters reordered between OHWI and the layout oneDNN chose; backward results
// added into the caller's gradients (the filter's through a reorder with a sum post-op).
#include "engine/cpu/conv_dnnl.h"

#include <omp.h>

#include <dnnl.hpp>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "engine/cpu/conv_winograd.h"
#include "engine/cpu/dnnl_util.h"
#include "engine/cpu/library.h"

namespace mlcn::cpu::dnnl_conv {
namespace {

using namespace dnnl_util;

struct Forward {
  Descs d;
  memory::desc scratch;
  dnnl::convolution_forward prim;
  std::unique_ptr<InputIn> w;
  memory src, dst, bias;
  Forward(const ConvShape& s, bool has_bias, bool relu, Ctx& c) : d(s, has_bias) {
    const auto pd = forward_pd(d, relu, dnnl::algorithm::convolution_direct, c);
    prim = dnnl::convolution_forward(pd);
    scratch = pd.scratchpad_desc();
    w = std::make_unique<InputIn>(d.wei_user, pd.weights_desc(), c);
    src = memory(d.src, c.eng, nullptr);
    dst = memory(d.dst, c.eng, nullptr);
    if (has_bias) bias = memory(d.bias, c.eng, nullptr);
  }
};

// The filter gradient: oneDNN's layout, added into the caller's OHWI dw by a summing reorder.
struct BackwardWeights {
  Descs d;
  memory::desc scratch;
  dnnl::convolution_backward_weights prim;
  memory src, dst, diff_wei_user, diff_wei, diff_bias;
  dnnl::reorder add;
  std::vector<float> db_scratch;
  BackwardWeights(const ConvShape& s, bool has_bias, Ctx& c) : d(s, has_bias) {
    dnnl::convolution_backward_weights::primitive_desc pd(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, d.src, d.wei_any, d.bias, d.dst,
                                                 d.strides, d.pad_l, d.pad_r),
        user_scratchpad(), c.eng, forward_pd(d, false, dnnl::algorithm::convolution_direct, c));
    prim = dnnl::convolution_backward_weights(pd);
    scratch = pd.scratchpad_desc();
    src = memory(d.src, c.eng, nullptr);
    dst = memory(d.dst, c.eng, nullptr);
    diff_wei_user = memory(d.wei_user, c.eng, nullptr);
    diff_wei = memory(pd.diff_weights_desc(), c.eng);
    add = add_reorder(diff_wei, diff_wei_user);
    if (has_bias) {
      db_scratch.resize(static_cast<size_t>(s.K));
      diff_bias = memory(d.bias, c.eng, db_scratch.data());
    }
  }
};

// The input gradient, written into a per-shape scratch buffer and added into din.
struct BackwardData {
  Descs d;
  memory::desc scratch;
  dnnl::convolution_backward_data prim;
  std::unique_ptr<InputIn> w;
  memory dst, diff_src;
  std::vector<float> dx;  // oneDNN's input gradient, added into the caller's
  BackwardData(const ConvShape& s, Ctx& c) : d(s, false) {
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, d.src, d.wei_any, d.dst, d.strides,
                                              d.pad_l, d.pad_r),
        user_scratchpad(), c.eng, forward_pd(d, false, dnnl::algorithm::convolution_direct, c));
    prim = dnnl::convolution_backward_data(pd);
    scratch = pd.scratchpad_desc();
    w = std::make_unique<InputIn>(d.wei_user, pd.weights_desc(), c);
    dst = memory(d.dst, c.eng, nullptr);
    dx.resize(static_cast<size_t>(s.B * s.H * s.W * s.C));
    diff_src = memory(d.src, c.eng, dx.data());
  }
};

}  // namespace

bool prefer(const ConvShape& s, Direction d) {
  if (!use_library() || s.groups != 1 || s.B <= 0 || s.K <= 0 || s.C <= 0) return false;
  if (s.OW < 4 || s.K >= 256) return false;
  if (d == Direction::BackwardData) return s.C >= 4;
  if (d == Direction::BackwardWeights) return s.C < 4;
  return true;
}

bool forward(float* out, const float* in, const float* w, const float* b, bool relu, const ConvShape& s) {
  if (use_library() && winograd::forward(out, in, w, b, relu, s)) return true;
  if (!prefer(s, Direction::Forward)) return false;
  thread_local std::map<Key, std::unique_ptr<Forward>> cache;
  Ctx& c = ctx();
  Forward* f = cached<Forward>(cache, key_of(s, (b ? 1 : 0) | (relu ? 2 : 0)),
                               [&] { return new Forward(s, b != nullptr, relu, c); });
  if (!f) return false;
  f->src.set_data_handle(const_cast<float*>(in));
  f->dst.set_data_handle(out);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, f->src}, {DNNL_ARG_WEIGHTS, f->w->load(w, c)}, {DNNL_ARG_DST, f->dst},
                                       {DNNL_ARG_SCRATCHPAD, c.scratchpad(f->scratch)}};
  if (b) {
    f->bias.set_data_handle(const_cast<float*>(b));
    args[DNNL_ARG_BIAS] = f->bias;
  }
  f->prim.execute(c.strm, args);
  c.strm.wait();
  return true;
}

bool backward_weights(float* dw, float* db, const float* dout, const float* in, const ConvShape& s) {
  if (use_library() && winograd::backward_weights(dw, db, dout, in, s)) return true;
  if (!prefer(s, Direction::BackwardWeights)) return false;
  thread_local std::map<Key, std::unique_ptr<BackwardWeights>> cache;
  Ctx& c = ctx();
  BackwardWeights* p =
      cached<BackwardWeights>(cache, key_of(s, db ? 1 : 0), [&] { return new BackwardWeights(s, db != nullptr, c); });
  if (!p) return false;
  p->src.set_data_handle(const_cast<float*>(in));
  p->dst.set_data_handle(const_cast<float*>(dout));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, p->src}, {DNNL_ARG_DIFF_DST, p->dst}, {DNNL_ARG_DIFF_WEIGHTS, p->diff_wei},
                                       {DNNL_ARG_SCRATCHPAD, c.scratchpad(p->scratch)}};
  if (db) args[DNNL_ARG_DIFF_BIAS] = p->diff_bias;
  p->prim.execute(c.strm, args);
  p->diff_wei_user.set_data_handle(dw);
  p->add.execute(c.strm, p->diff_wei, p->diff_wei_user);
  c.strm.wait();
  if (db)
    for (int64_t k = 0; k < s.K; ++k) db[k] += p->db_scratch[static_cast<size_t>(k)];
  return true;
}

bool backward_data(float* din, const float* dout, const float* w, const ConvShape& s) {
  if (use_library() && winograd::backward_data(din, dout, w, s)) return true;
  if (!prefer(s, Direction::BackwardData)) return false;
  thread_local std::map<Key, std::unique_ptr<BackwardData>> cache;
  Ctx& c = ctx();
  BackwardData* p = cached<BackwardData>(cache, key_of(s, 0), [&] { return new BackwardData(s, c); });
  if (!p) return false;
  p->dst.set_data_handle(const_cast<float*>(dout));
  p->prim.execute(c.strm, {{DNNL_ARG_DIFF_DST, p->dst}, {DNNL_ARG_WEIGHTS, p->w->load(w, c)}, {DNNL_ARG_DIFF_SRC, p->diff_src},
                           {DNNL_ARG_SCRATCHPAD, c.scratchpad(p->scratch)}});
  c.strm.wait();
  const int64_t n = s.B * s.H * s.W * s.C;
  const float* g = p->dx.data();
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) din[i] += g[i];
  return true;
}

const char* isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

long primitives_created() { return ctx().created; }

}  // namespace mlcn::cpu::dnnl_conv
