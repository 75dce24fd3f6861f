// CPU conv2d (im2col + GEMM over chunks of images) and depthwise conv (direct loops).
// Chunks keep the im2col buffer near kColBudget elements, so CapsNet's primary-capsule conv
// (K = 9*9*256 = 20736 per row) does not materialise a 300 MB matrix at batch 100.
#include "engine/cpu/conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "engine/cpu/gemm.h"

namespace mlcn::cpu {
namespace {

constexpr int64_t kColBudget = 4 << 20;  // elements of the im2col buffer per chunk

// The filter columns j in [j0, j1) whose input column ox * stride + j - pad_w lies inside the
// image: under one filter row they cover (j1 - j0) * C contiguous floats of both the input row
// and the im2col row, so both directions move whole runs (vectorised even when C = 1).
struct ColRange {
  int64_t j0, j1;
};
inline ColRange valid_cols(const ConvShape& s, int64_t ox) {
  const int64_t x0 = ox * s.stride - s.pad_w;
  return {std::max<int64_t>(0, -x0), std::min<int64_t>(s.kw, s.W - x0)};
}

// Rows (b, oy, ox) for images [b0, b0+nb), columns (i, j, c): the patch under each output pixel.
template <class T>
void im2col(T* cols, const T* in, const ConvShape& s, int64_t b0, int64_t nb) {
  const int64_t KK = s.kh * s.kw * s.C, run = s.kw * s.C;
#pragma omp parallel for collapse(2) if (nb * s.OH > 8)
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t oy = 0; oy < s.OH; ++oy)
      for (int64_t ox = 0; ox < s.OW; ++ox) {
        T* row = cols + ((b * s.OH + oy) * s.OW + ox) * KK;
        const T* img = in + (b0 + b) * s.H * s.W * s.C;
        const ColRange r = valid_cols(s, ox);
        const int64_t x0 = ox * s.stride - s.pad_w;
        for (int64_t i = 0; i < s.kh; ++i) {
          const int64_t y = oy * s.stride + i - s.pad_h;
          T* dst = row + i * run;
          if (y < 0 || y >= s.H || r.j0 >= r.j1) {
            std::fill(dst, dst + run, T(0));
            continue;
          }
          std::fill(dst, dst + r.j0 * s.C, T(0));
          const T* src = img + (y * s.W + x0 + r.j0) * s.C;
          T* d = dst + r.j0 * s.C;
          const int64_t n = (r.j1 - r.j0) * s.C;
          for (int64_t e = 0; e < n; ++e) d[e] = src[e];
          std::fill(dst + r.j1 * s.C, dst + run, T(0));
        }
      }
}

// Adds the column gradients back onto the input pixels; parallel over images (race-free).
template <class T>
void col2im_add(T* din, const T* cols, const ConvShape& s, int64_t b0, int64_t nb) {
  const int64_t KK = s.kh * s.kw * s.C, run = s.kw * s.C;
#pragma omp parallel for if (nb > 1)
  for (int64_t b = 0; b < nb; ++b) {
    T* img = din + (b0 + b) * s.H * s.W * s.C;
    for (int64_t oy = 0; oy < s.OH; ++oy)
      for (int64_t ox = 0; ox < s.OW; ++ox) {
        const T* row = cols + ((b * s.OH + oy) * s.OW + ox) * KK;
        const ColRange r = valid_cols(s, ox);
        const int64_t x0 = ox * s.stride - s.pad_w;
        for (int64_t i = 0; i < s.kh; ++i) {
          const int64_t y = oy * s.stride + i - s.pad_h;
          if (y < 0 || y >= s.H || r.j0 >= r.j1) continue;
          const T* src = row + i * run + r.j0 * s.C;
          T* dst = img + (y * s.W + x0 + r.j0) * s.C;
          const int64_t n = (r.j1 - r.j0) * s.C;
          for (int64_t e = 0; e < n; ++e) dst[e] += src[e];
        }
      }
  }
}

bool is_pointwise(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride == 1 && s.pad_h == 0 && s.pad_w == 0;
}

int64_t chunk_images(const ConvShape& s) {
  int64_t per_image = s.OH * s.OW * s.kh * s.kw * s.C;
  return std::max<int64_t>(1, std::min<int64_t>(s.B, kColBudget / std::max<int64_t>(per_image, 1)));
}

template <class T> std::vector<T>& scratch() {
  thread_local std::vector<T> buf;  // one per worker thread: lanes on different devices never share
  return buf;
}

}  // namespace


template <class T>
void conv2d_forward(T* out, const T* in, const T* w, const T* b, const ConvShape& s) {
  if (s.groups != 1) return conv2d_grouped_forward(out, in, w, b, s);
  const int64_t KK = s.kh * s.kw * s.C, P = s.OH * s.OW;
  if (is_pointwise(s)) {
    gemm<T>(false, true, s.B * P, s.K, KK, in, w, T(0), out);
  } else {
    const int64_t cb = chunk_images(s);
    auto& cols = scratch<T>();
    cols.resize(static_cast<size_t>(cb * P * KK));
    for (int64_t b0 = 0; b0 < s.B; b0 += cb) {
      int64_t nb = std::min(cb, s.B - b0);
      im2col(cols.data(), in, s, b0, nb);
      gemm<T>(false, true, nb * P, s.K, KK, cols.data(), w, T(0), out + b0 * P * s.K);
    }
  }
  if (b) {
    const int64_t rows = s.B * P;
#pragma omp parallel for if (rows * s.K > (1 << 16))
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < s.K; ++k) out[r * s.K + k] += b[k];
  }
}

template <class T>
void conv2d_backward(T* din, T* dw, T* db, const T* dout, const T* in, const T* w, const ConvShape& s) {
  if (s.groups != 1) return conv2d_grouped_backward(din, dw, db, dout, in, w, s);
  const int64_t KK = s.kh * s.kw * s.C, P = s.OH * s.OW;
  if (db && dw) {
    const int64_t rows = s.B * P;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < s.K; ++k) db[k] += dout[r * s.K + k];
  }
  if (is_pointwise(s)) {
    if (dw) gemm<T>(true, false, s.K, KK, s.B * P, dout, in, T(1), dw);
    if (din) gemm<T>(false, false, s.B * P, KK, s.K, dout, w, T(1), din);
    return;
  }
  const int64_t cb = chunk_images(s);
  auto& cols = scratch<T>();
  cols.resize(static_cast<size_t>(cb * P * KK));
  for (int64_t b0 = 0; b0 < s.B; b0 += cb) {
    int64_t nb = std::min(cb, s.B - b0);
    const T* dchunk = dout + b0 * P * s.K;
    if (dw) {
      im2col(cols.data(), in, s, b0, nb);
      gemm<T>(true, false, s.K, KK, nb * P, dchunk, cols.data(), T(1), dw);  // dW += dOut^T cols
    }
    if (din) {
      gemm<T>(false, false, nb * P, KK, s.K, dchunk, w, T(0), cols.data());  // dcols = dOut W
      col2im_add(din, cols.data(), s, b0, nb);
    }
  }
}

template <class T>
void depthwise_forward(T* out, const T* in, const T* w, const ConvShape& s) {
  // Filter transposed to (kh, kw, C) so the innermost loop runs over contiguous channels.
  std::vector<T> wt(static_cast<size_t>(s.kh * s.kw * s.C));
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t t = 0; t < s.kh * s.kw; ++t) wt[t * s.C + c] = w[c * s.kh * s.kw + t];
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t oy = 0; oy < s.OH; ++oy)
      for (int64_t ox = 0; ox < s.OW; ++ox) {
        T* o = out + ((b * s.OH + oy) * s.OW + ox) * s.C;
        std::fill(o, o + s.C, T(0));
        for (int64_t i = 0; i < s.kh; ++i) {
          int64_t y = oy * s.stride + i - s.pad_h;
          if (y < 0 || y >= s.H) continue;
          for (int64_t j = 0; j < s.kw; ++j) {
            int64_t x = ox * s.stride + j - s.pad_w;
            if (x < 0 || x >= s.W) continue;
            const T* px = in + ((b * s.H + y) * s.W + x) * s.C;
            const T* wk = wt.data() + (i * s.kw + j) * s.C;
            for (int64_t c = 0; c < s.C; ++c) o[c] += px[c] * wk[c];
          }
        }
      }
}

template <class T>
void depthwise_backward(T* din, T* dw, const T* dout, const T* in, const T* w, const ConvShape& s) {
  const int64_t taps = s.kh * s.kw;
  std::vector<T> wt(static_cast<size_t>(taps * s.C)), dwt(static_cast<size_t>(taps * s.C), T(0));
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t t = 0; t < taps; ++t) wt[t * s.C + c] = w[c * taps + t];
#pragma omp parallel
  {
    std::vector<T> local(static_cast<size_t>(taps * s.C), T(0));
#pragma omp for
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t oy = 0; oy < s.OH; ++oy)
        for (int64_t ox = 0; ox < s.OW; ++ox) {
          const T* g = dout + ((b * s.OH + oy) * s.OW + ox) * s.C;
          for (int64_t i = 0; i < s.kh; ++i) {
            int64_t y = oy * s.stride + i - s.pad_h;
            if (y < 0 || y >= s.H) continue;
            for (int64_t j = 0; j < s.kw; ++j) {
              int64_t x = ox * s.stride + j - s.pad_w;
              if (x < 0 || x >= s.W) continue;
              int64_t off = ((b * s.H + y) * s.W + x) * s.C;
              T* lw = local.data() + (i * s.kw + j) * s.C;
              const T* wk = wt.data() + (i * s.kw + j) * s.C;
              for (int64_t c = 0; c < s.C; ++c) {
                lw[c] += g[c] * in[off + c];
                if (din) din[off + c] += g[c] * wk[c];
              }
            }
          }
        }
#pragma omp critical
    for (size_t k = 0; k < local.size(); ++k) dwt[k] += local[k];
  }
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t t = 0; t < taps; ++t) dw[c * taps + t] += dwt[t * s.C + c];
}

#define MLCN_INSTANTIATE(T)                                                                      \
  template void conv2d_forward<T>(T*, const T*, const T*, const T*, const ConvShape&);           \
  template void conv2d_backward<T>(T*, T*, T*, const T*, const T*, const T*, const ConvShape&);  \
  template void depthwise_forward<T>(T*, const T*, const T*, const ConvShape&);                  \
  template void depthwise_backward<T>(T*, T*, const T*, const T*, const T*, const ConvShape&);
MLCN_INSTANTIATE(float)
MLCN_INSTANTIATE(double)
#undef MLCN_INSTANTIATE

}  // namespace mlcn::cpu
