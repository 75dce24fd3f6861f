// make_conv_shape: output size and Keras-style "same" padding of a convolution.
#include "base/conv_shape.h"

#include <algorithm>

#include "base/check.h"

namespace mlcn {

ConvShape make_conv_shape(int64_t B, int64_t H, int64_t W, int64_t C, int64_t K, int64_t kh,
                          int64_t kw, int64_t stride, bool same) {
  ConvShape s;
  s.B = B, s.H = H, s.W = W, s.C = C, s.K = K, s.kh = kh, s.kw = kw, s.stride = stride;
  MLCN_CHECK(stride >= 1 && kh >= 1 && kw >= 1, "bad conv kernel " << kh << "x" << kw << " stride " << stride);
  if (same) {
    s.OH = (H + stride - 1) / stride;
    s.OW = (W + stride - 1) / stride;
    s.pad_h = std::max<int64_t>(0, ((s.OH - 1) * stride + kh - H)) / 2;  // TF/Keras: extra on the bottom/right
    s.pad_w = std::max<int64_t>(0, ((s.OW - 1) * stride + kw - W)) / 2;
  } else {
    MLCN_CHECK(H >= kh && W >= kw, "a " << kh << "x" << kw << " kernel does not fit a " << H << "x" << W << " input");
    s.OH = (H - kh) / stride + 1;
    s.OW = (W - kw) / stride + 1;
  }
  return s;
}

}  // namespace mlcn
