// Grouped conv2d on the CPU: the reference for cuDNN's group count. Group g's input channels
// and output gradient columns are gathered into contiguous buffers, convolved by the groups == 1
// code with group g's filter rows, and scattered (or accumulated) back into their columns.
#include <vector>

#include "base/check.h"
#include "engine/cpu/conv.h"

namespace mlcn::cpu {
namespace {

ConvShape one_group(const ConvShape& s) {
  MLCN_CHECK(s.groups >= 1 && s.C % s.groups == 0 && s.K % s.groups == 0,
             "conv2d: " << s.groups << " groups do not divide " << s.C << " input and " << s.K << " output channels");
  ConvShape g = s;
  g.C = s.C / s.groups;
  g.K = s.K / s.groups;
  g.groups = 1;
  return g;
}

// dst (rows, width) = src (rows, stride) columns [off, off + width)
template <class T> void gather_cols(T* dst, const T* src, int64_t rows, int64_t width, int64_t stride, int64_t off) {
#pragma omp parallel for if (rows * width > (1 << 16))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < width; ++c) dst[r * width + c] = src[r * stride + off + c];
}

// dst (rows, stride) columns [off, off + width) = (or +=) src (rows, width)
template <class T>
void scatter_cols(T* dst, const T* src, int64_t rows, int64_t width, int64_t stride, int64_t off, bool accumulate) {
#pragma omp parallel for if (rows * width > (1 << 16))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < width; ++c) {
      T& d = dst[r * stride + off + c];
      d = accumulate ? d + src[r * width + c] : src[r * width + c];
    }
}

}  // namespace

template <class T>
void conv2d_grouped_forward(T* out, const T* in, const T* w, const T* b, const ConvShape& s) {
  const ConvShape g = one_group(s);
  const int64_t in_rows = s.B * s.H * s.W, out_rows = s.B * s.OH * s.OW, wsize = g.K * g.kh * g.kw * g.C;
  std::vector<T> x(static_cast<size_t>(in_rows * g.C)), y(static_cast<size_t>(out_rows * g.K));
  for (int64_t k = 0; k < s.groups; ++k) {
    gather_cols(x.data(), in, in_rows, g.C, s.C, k * g.C);
    conv2d_forward(y.data(), x.data(), w + k * wsize, b ? b + k * g.K : nullptr, g);
    scatter_cols(out, y.data(), out_rows, g.K, s.K, k * g.K, false);
  }
}

template <class T>
void conv2d_grouped_backward(T* din, T* dw, T* db, const T* dout, const T* in, const T* w, const ConvShape& s) {
  const ConvShape g = one_group(s);
  const int64_t in_rows = s.B * s.H * s.W, out_rows = s.B * s.OH * s.OW, wsize = g.K * g.kh * g.kw * g.C;
  std::vector<T> x(static_cast<size_t>(in_rows * g.C)), dy(static_cast<size_t>(out_rows * g.K)), dx;
  for (int64_t k = 0; k < s.groups; ++k) {
    gather_cols(x.data(), in, in_rows, g.C, s.C, k * g.C);
    gather_cols(dy.data(), dout, out_rows, g.K, s.K, k * g.K);
    if (din) dx.assign(static_cast<size_t>(in_rows * g.C), T(0));
    conv2d_backward(din ? dx.data() : nullptr, dw + k * wsize, db ? db + k * g.K : nullptr, dy.data(), x.data(),
                    w + k * wsize, g);
    if (din) scatter_cols(din, dx.data(), in_rows, g.C, s.C, k * g.C, true);
  }
}

template void conv2d_grouped_forward<float>(float*, const float*, const float*, const float*, const ConvShape&);
template void conv2d_grouped_forward<double>(double*, const double*, const double*, const double*, const ConvShape&);
template void conv2d_grouped_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                             const ConvShape&);
template void conv2d_grouped_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                              const ConvShape&);

}  // namespace mlcn::cpu
