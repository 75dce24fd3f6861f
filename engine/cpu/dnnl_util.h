// Internal to the oneDNN paths (conv_dnnl.cpp, conv_winograd.cpp): the per-thread engine,
// stream and primitive caches, the cache key, descriptors of one convolution in the engine's
// layouts (NHWC activations, OHWI filters), and a filter loaded into oneDNN's chosen layout.
#pragma once
#include <omp.h>

#include <dnnl.hpp>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "base/conv_shape.h"  // defines: ConvShape

namespace mlcn::cpu::dnnl_util {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

struct Ctx {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  long created = 0;
  // Every primitive of this thread runs with this one scratchpad (scratchpad_mode::user), grown
  // to the largest a primitive asks for: oneDNN's own mode allocated and page-faulted it again
  // at every execution (10% of an MLCN step in the kernel's page-fault handler).
  std::vector<char> scratch;
  memory scratchpad(const memory::desc& d);
};
// One per thread (each lane worker): primitives are never shared between threads.
Ctx& ctx();

// Logical (NCHW / OIHW) descriptors of one convolution; physical layouts NHWC / OHWI.
struct Descs {
  memory::desc src, dst, wei_user, wei_any, bias;
  memory::dims strides, pad_l, pad_r;
  Descs(const ConvShape& s, bool bias_term);
};

// Attributes of every primitive here: the caller's scratchpad (Ctx::scratchpad).
dnnl::primitive_attr user_scratchpad();
// oneDNN's forward descriptor for d (training), with the ReLU as a post-op when relu.
dnnl::convolution_forward::primitive_desc forward_pd(const Descs& d, bool relu, dnnl::algorithm alg, Ctx& c);

// A caller's tensor in the engine's layout (a filter in OHWI, a gradient in NHWC) moved into the
// layout `want` (or used in place when it is in that layout already).
struct InputIn {
  memory user, mem;
  std::unique_ptr<dnnl::reorder> reorder;
  InputIn(const memory::desc& user_desc, const memory::desc& want, Ctx& c);
  const memory& load(const float* data, Ctx& c);
};

// A summing reorder: dst (its layout) += src (its layout).
dnnl::reorder add_reorder(const memory& src, const memory& dst);

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int>;
// The shape, the caller's flags and this thread's OpenMP width (oneDNN blocks for it).
Key key_of(const ConvShape& s, int flags);

// The cached plan for k, made by make() on a miss; a plan that oneDNN refused is kept as null
// (that shape takes another path), and counted in neither case twice.
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

}  // namespace mlcn::cpu::dnnl_util
