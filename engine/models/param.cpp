// Exchange-layout conversions and initialisers for parameters; see param.h.
#include "engine/models/param.h"

#include <cmath>

namespace mlcn {

Shape exchange_shape(const Param& p) {
  const Shape& s = p.var->value.shape();
  switch (p.layout) {
    case ParamLayout::ConvOHWI: return {s[0], s[3], s[1], s[2]};
    case ParamLayout::Depthwise: return {s[0], 1, s[1], s[2]};
    case ParamLayout::CapsJ1: return {s[0], s[2], s[1]};
    default: return s;
  }
}

namespace {
// Permutes a 4-d (or 3-d, with a leading dim) tensor: out[a][perm...]. Only the two layouts we need.
template <class T> void ohwi_to_oihw(T* dst, const T* src, int64_t K, int64_t H, int64_t W, int64_t C, bool inverse) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        for (int64_t c = 0; c < C; ++c) {
          int64_t ohwi = ((k * H + y) * W + x) * C + c, oihw = ((k * C + c) * H + y) * W + x;
          if (inverse) dst[ohwi] = src[oihw];
          else dst[oihw] = src[ohwi];
        }
}
template <class T> void swap_last2(T* dst, const T* src, int64_t N, int64_t A, int64_t B) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t a = 0; a < A; ++a)
      for (int64_t b = 0; b < B; ++b) dst[(n * B + b) * A + a] = src[(n * A + a) * B + b];
}

Tensor convert(const Param& p, const Tensor& src, bool to_ex) {
  const Shape& s = p.var->value.shape();
  Shape ex = exchange_shape(p);
  MLCN_CHECK(src.shape() == (to_ex ? s : ex), "parameter " << p.name << ": expected shape "
                                                            << shape_str(to_ex ? s : ex) << ", got "
                                                            << shape_str(src.shape()));
  Tensor h = src.to(Device::cpu());
  Tensor out = Tensor::empty(to_ex ? ex : s, h.dtype());
  MLCN_DISPATCH_FLOAT(h.dtype(), T, {
    const T* a = h.data<T>();
    T* b = out.data<T>();
    switch (p.layout) {
      case ParamLayout::ConvOHWI: ohwi_to_oihw(b, a, s[0], s[1], s[2], s[3], !to_ex); break;
      case ParamLayout::CapsJ1:
        if (to_ex) swap_last2(b, a, s[0], s[1], s[2]);
        else swap_last2(b, a, s[0], s[2], s[1]);
        break;
      default: out.copy_from(h.reshape(out.shape())); break;
    }
  });
  return out;
}
}  // namespace

Tensor to_exchange(const Param& p, const Tensor& internal) { return convert(p, internal, true); }
Tensor from_exchange(const Param& p, const Tensor& exchange) { return convert(p, exchange, false); }

Tensor glorot_uniform(const Shape& shape, double fan_in, double fan_out, Rng& rng, DType dt) {
  Tensor t = Tensor::empty(shape, dt);
  double limit = std::sqrt(6.0 / (fan_in + fan_out));
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, rng.uniform(-limit, limit));
  return t;
}

}  // namespace mlcn
