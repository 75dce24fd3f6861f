// oneDNN convolutions (see conv_dnnl.h): per-thread primitive cache keyed by shape, flags and
// OpenMP width; filters reordered between OHWI and the layout oneDNN chose; backward results
// added into the caller's gradients (the filter's through a reorder with a sum post-op).
#include "engine/cpu/conv_dnnl.h"

#include "engine/cpu/library.h"

#include "engine/cpu/library.h"

#include <omp.h>

#include <dnnl.hpp>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace mlcn::cpu::dnnl_conv {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

struct Ctx {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  long created = 0;
};
Ctx& ctx() {
  thread_local Ctx c;  // one per lane worker: primitives are never shared between threads
  return c;
}

// Logical (NCHW / OIHW) descriptors of one convolution; physical layouts NHWC / OHWI.
struct Descs {
  memory::desc src, dst, wei_user, wei_any, bias;
  memory::dims strides, pad_l, pad_r;
  explicit Descs(const ConvShape& s, bool bias_term) {
    src = memory::desc({s.B, s.C, s.H, s.W}, f32, tag::nhwc);
    dst = memory::desc({s.B, s.K, s.OH, s.OW}, f32, tag::nhwc);
    wei_user = memory::desc({s.K, s.C, s.kh, s.kw}, f32, tag::ohwi);
    wei_any = memory::desc({s.K, s.C, s.kh, s.kw}, f32, tag::any);
    if (bias_term) bias = memory::desc({s.K}, f32, tag::x);
    strides = {s.stride, s.stride};
    pad_l = {s.pad_h, s.pad_w};
    // Right padding so that (H + pad_l + pad_r - kh) / stride + 1 == OH exactly (may be negative
    // when the stride leaves input rows unused, e.g. 8 rows, 6x6 filter, stride 3).
    pad_r = {(s.OH - 1) * s.stride + s.kh - s.H - s.pad_h, (s.OW - 1) * s.stride + s.kw - s.W - s.pad_w};
  }
};

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int>;
Key key_of(const ConvShape& s, int flags) {
  return {s.B, s.H, s.W, s.C, s.K, s.kh, s.kw, s.stride, s.pad_h, s.pad_w, flags, omp_get_max_threads()};
}

dnnl::convolution_forward::primitive_desc forward_pd(const Descs& d, bool relu, Ctx& c) {
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                     d.wei_any, d.bias, d.dst, d.strides, d.pad_l, d.pad_r);
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  return {fd, attr, c.eng};
}

// A filter in OHWI moved into the layout `want` (or used in place when it is OHWI already).
struct FilterIn {
  memory user, mem;
  std::unique_ptr<dnnl::reorder> reorder;
  FilterIn(const Descs& d, const memory::desc& want, Ctx& c) : user(d.wei_user, c.eng, nullptr) {
    if (want == d.wei_user) {
      mem = user;
    } else {
      mem = memory(want, c.eng);
      reorder = std::make_unique<dnnl::reorder>(user, mem);
    }
  }
  const memory& load(const float* w, Ctx& c) {
    user.set_data_handle(const_cast<float*>(w));
    if (reorder) reorder->execute(c.strm, user, mem);
    return mem;
  }
};

struct Forward {
  Descs d;
  dnnl::convolution_forward prim;
  std::unique_ptr<FilterIn> w;
  memory src, dst, bias;
  Forward(const ConvShape& s, bool has_bias, bool relu, Ctx& c) : d(s, has_bias) {
    const auto pd = forward_pd(d, relu, c);
    prim = dnnl::convolution_forward(pd);
    w = std::make_unique<FilterIn>(d, pd.weights_desc(), c);
    src = memory(d.src, c.eng, nullptr);
    dst = memory(d.dst, c.eng, nullptr);
    if (has_bias) bias = memory(d.bias, c.eng, nullptr);
  }
};

// The filter gradient: oneDNN's layout, added into the caller's OHWI dw by a summing reorder.
struct BackwardWeights {
  Descs d;
  dnnl::convolution_backward_weights prim;
  memory src, dst, diff_wei_user, diff_wei, diff_bias;
  std::unique_ptr<dnnl::reorder> add;
  std::vector<float> db_scratch;
  BackwardWeights(const ConvShape& s, bool has_bias, Ctx& c) : d(s, has_bias) {
    dnnl::convolution_backward_weights::primitive_desc pd(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, d.src, d.wei_any, d.bias, d.dst,
                                                 d.strides, d.pad_l, d.pad_r),
        c.eng, forward_pd(d, false, c));
    prim = dnnl::convolution_backward_weights(pd);
    src = memory(d.src, c.eng, nullptr);
    dst = memory(d.dst, c.eng, nullptr);
    diff_wei_user = memory(d.wei_user, c.eng, nullptr);
    diff_wei = memory(pd.diff_weights_desc(), c.eng);
    dnnl::post_ops po;
    po.append_sum(1.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    add = std::make_unique<dnnl::reorder>(dnnl::reorder::primitive_desc(diff_wei, diff_wei_user, attr));
    if (has_bias) {
      db_scratch.resize(static_cast<size_t>(s.K));
      diff_bias = memory(d.bias, c.eng, db_scratch.data());
    }
  }
};

// The input gradient, written into a per-shape scratch buffer and added into din.
struct BackwardData {
  Descs d;
  dnnl::convolution_backward_data prim;
  std::unique_ptr<FilterIn> w;
  memory dst, diff_src;
  std::vector<float> scratch;
  BackwardData(const ConvShape& s, Ctx& c) : d(s, false) {
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, d.src, d.wei_any, d.dst, d.strides,
                                              d.pad_l, d.pad_r),
        c.eng, forward_pd(d, false, c));
    prim = dnnl::convolution_backward_data(pd);
    w = std::make_unique<FilterIn>(d, pd.weights_desc(), c);
    dst = memory(d.dst, c.eng, nullptr);
    scratch.resize(static_cast<size_t>(s.B * s.H * s.W * s.C));
    diff_src = memory(d.src, c.eng, scratch.data());
  }
};

// The per-thread caches; an entry that failed to build is kept as null (that shape uses the twin).
template <class P>
P* cached(std::map<Key, std::unique_ptr<P>>& cache, const Key& k, const std::function<P*()>& make) {
  auto it = cache.find(k);
  if (it != cache.end()) return it->second.get();
  if (cache.size() >= 256) cache.clear();  // shapes churn only with varying batch sizes
  std::unique_ptr<P> p;
  try {
    p.reset(make());
    ++ctx().created;
  } catch (const dnnl::error&) {
    p.reset();
  }
  return cache.emplace(k, std::move(p)).first->second.get();
}

}  // namespace

bool prefer(const ConvShape& s, Direction d) {
  if (!use_library() || s.groups != 1 || s.B <= 0 || s.K <= 0 || s.C <= 0) return false;
  if (s.OW < 4 || s.K >= 256) return false;
  if (d == Direction::BackwardData) return s.C >= 4;
  if (d == Direction::BackwardWeights) return s.C < 4;
  return true;
}

bool forward(float* out, const float* in, const float* w, const float* b, bool relu, const ConvShape& s) {
  if (!prefer(s, Direction::Forward)) return false;
  thread_local std::map<Key, std::unique_ptr<Forward>> cache;
  Ctx& c = ctx();
  Forward* f = cached<Forward>(cache, key_of(s, (b ? 1 : 0) | (relu ? 2 : 0)),
                               [&] { return new Forward(s, b != nullptr, relu, c); });
  if (!f) return false;
  f->src.set_data_handle(const_cast<float*>(in));
  f->dst.set_data_handle(out);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, f->src}, {DNNL_ARG_WEIGHTS, f->w->load(w, c)}, {DNNL_ARG_DST, f->dst}};
  if (b) {
    f->bias.set_data_handle(const_cast<float*>(b));
    args[DNNL_ARG_BIAS] = f->bias;
  }
  f->prim.execute(c.strm, args);
  c.strm.wait();
  return true;
}

bool backward_weights(float* dw, float* db, const float* dout, const float* in, const ConvShape& s) {
  if (!prefer(s, Direction::BackwardWeights)) return false;
  thread_local std::map<Key, std::unique_ptr<BackwardWeights>> cache;
  Ctx& c = ctx();
  BackwardWeights* p =
      cached<BackwardWeights>(cache, key_of(s, db ? 1 : 0), [&] { return new BackwardWeights(s, db != nullptr, c); });
  if (!p) return false;
  p->src.set_data_handle(const_cast<float*>(in));
  p->dst.set_data_handle(const_cast<float*>(dout));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, p->src}, {DNNL_ARG_DIFF_DST, p->dst}, {DNNL_ARG_DIFF_WEIGHTS, p->diff_wei}};
  if (db) args[DNNL_ARG_DIFF_BIAS] = p->diff_bias;
  p->prim.execute(c.strm, args);
  p->diff_wei_user.set_data_handle(dw);
  p->add->execute(c.strm, p->diff_wei, p->diff_wei_user);
  c.strm.wait();
  if (db)
    for (int64_t k = 0; k < s.K; ++k) db[k] += p->db_scratch[static_cast<size_t>(k)];
  return true;
}

bool backward_data(float* din, const float* dout, const float* w, const ConvShape& s) {
  if (!prefer(s, Direction::BackwardData)) return false;
  thread_local std::map<Key, std::unique_ptr<BackwardData>> cache;
  Ctx& c = ctx();
  BackwardData* p = cached<BackwardData>(cache, key_of(s, 0), [&] { return new BackwardData(s, c); });
  if (!p) return false;
  p->dst.set_data_handle(const_cast<float*>(dout));
  p->prim.execute(c.strm, {{DNNL_ARG_DIFF_DST, p->dst}, {DNNL_ARG_WEIGHTS, p->w->load(w, c)}, {DNNL_ARG_DIFF_SRC, p->diff_src}});
  c.strm.wait();
  const int64_t n = s.B * s.H * s.W * s.C;
  const float* g = p->scratch.data();
#pragma omp parallel for simd if (n > (1 << 16))
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
