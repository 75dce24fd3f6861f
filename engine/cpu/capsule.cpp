// CPU capsule kernels; see capsule.h for the math. Parallel over the batch everywhere except
// predict_backward's dW, which is parallel over capsules so no two threads write one entry.
#include "engine/cpu/capsule.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mlcn::cpu {
namespace {

// squash factor f(n2) = n2/((1+n2) sqrt(n2+eps)) and its derivative f'(n2), safe at n2 = 0.
template <class T> inline void squash_factor(T n2, T& f, T& fp) {
  T g = T(1) / ((T(1) + n2) * std::sqrt(n2 + T(kSquashEps)));
  f = n2 * g;
  fp = g * (T(1) - n2 / (T(1) + n2) - n2 / (T(2) * (n2 + T(kSquashEps))));
}

template <class T> inline void squash_row(T* v, const T* s, int64_t D) {
  T n2 = 0;
  for (int64_t d = 0; d < D; ++d) n2 += s[d] * s[d];
  T f, fp;
  squash_factor(n2, f, fp);
  for (int64_t d = 0; d < D; ++d) v[d] = f * s[d];
}

// ds += f dv + 2 f'(n2) (s.dv) s
template <class T> inline void squash_row_backward(T* ds, const T* dv, const T* s, int64_t D) {
  T n2 = 0, sdv = 0;
  for (int64_t d = 0; d < D; ++d) n2 += s[d] * s[d], sdv += s[d] * dv[d];
  T f, fp;
  squash_factor(n2, f, fp);
  for (int64_t d = 0; d < D; ++d) ds[d] += f * dv[d] + T(2) * fp * sdv * s[d];
}

// One image's routing, keeping c_t (iters,N,J) and s_t (iters,J,D) for the backward pass.
template <class T>
void route_one(T* v, const T* uh, int64_t N, int64_t J, int64_t D, int iters, T* c_all, T* s_all) {
  std::vector<T> b(static_cast<size_t>(N * J), T(0));
  for (int t = 0; t < iters; ++t) {
    T* c = c_all + t * N * J;
    T* s = s_all + t * J * D;
    for (int64_t i = 0; i < N; ++i) {  // c_i = softmax_j(b_i)
      const T* bi = b.data() + i * J;
      T m = *std::max_element(bi, bi + J), z = 0;
      for (int64_t j = 0; j < J; ++j) z += (c[i * J + j] = std::exp(bi[j] - m));
      for (int64_t j = 0; j < J; ++j) c[i * J + j] /= z;
    }
    std::fill(s, s + J * D, T(0));
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < J; ++j) {
        const T* u = uh + (i * J + j) * D;
        T cij = c[i * J + j];
        for (int64_t d = 0; d < D; ++d) s[j * D + d] += cij * u[d];
      }
    for (int64_t j = 0; j < J; ++j) squash_row(v + j * D, s + j * D, D);
    if (t + 1 < iters)
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < J; ++j) {
          const T* u = uh + (i * J + j) * D;
          T a = 0;
          for (int64_t d = 0; d < D; ++d) a += u[d] * v[j * D + d];
          b[i * J + j] += a;
        }
  }
}

}  // namespace

template <class T> void squash_forward(T* v, const T* s, int64_t rows, int64_t D) {
#pragma omp parallel for if (rows * D > (1 << 14))
  for (int64_t r = 0; r < rows; ++r) squash_row(v + r * D, s + r * D, D);
}

template <class T> void squash_backward(T* ds, const T* dv, const T* s, int64_t rows, int64_t D) {
#pragma omp parallel for if (rows * D > (1 << 14))
  for (int64_t r = 0; r < rows; ++r) squash_row_backward(ds + r * D, dv + r * D, s + r * D, D);
}

template <class T>
void predict_forward(T* uhat, const T* u, const T* W, int64_t B, int64_t N, int64_t J, int64_t Dout, int64_t Din) {
  const int64_t R = J * Dout;
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < N; ++i) {
      const T* ui = u + (b * N + i) * Din;
      const T* Wi = W + i * R * Din;
      T* out = uhat + (b * N + i) * R;
      for (int64_t r = 0; r < R; ++r) {
        T acc = 0;
        for (int64_t k = 0; k < Din; ++k) acc += Wi[r * Din + k] * ui[k];
        out[r] = acc;
      }
    }
}

template <class T>
void predict_backward(T* du, T* dW, const T* duhat, const T* u, const T* W, int64_t B, int64_t N, int64_t J,
                      int64_t Dout, int64_t Din) {
  const int64_t R = J * Dout;
#pragma omp parallel for
  for (int64_t i = 0; i < N; ++i)
    for (int64_t b = 0; b < B; ++b) {
      const T* g = duhat + (b * N + i) * R;
      const T* ui = u + (b * N + i) * Din;
      T* dWi = dW + i * R * Din;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < Din; ++k) dWi[r * Din + k] += g[r] * ui[k];
    }
  if (!du) return;
#pragma omp parallel for collapse(2)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < N; ++i) {
      const T* g = duhat + (b * N + i) * R;
      const T* Wi = W + i * R * Din;
      T* dui = du + (b * N + i) * Din;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t k = 0; k < Din; ++k) dui[k] += g[r] * Wi[r * Din + k];
    }
}

template <class T>
void routing_forward(T* v, const T* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters, bool fast) {
  if (J == 1 && fast) {  // fast path: s = sum_i uhat_i, in the same order as the general loop
#pragma omp parallel for
    for (int64_t b = 0; b < B; ++b) {
      std::vector<T> s(static_cast<size_t>(D), T(0));
      const T* uh = uhat + b * N * D;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t d = 0; d < D; ++d) s[d] += T(1) * uh[i * D + d];
      squash_row(v + b * D, s.data(), D);
    }
    return;
  }
#pragma omp parallel for
  for (int64_t b = 0; b < B; ++b) {
    std::vector<T> c(static_cast<size_t>(iters * N * J)), s(static_cast<size_t>(iters * J * D));
    route_one(v + b * J * D, uhat + b * N * J * D, N, J, D, iters, c.data(), s.data());
  }
}

template <class T>
void routing_backward(T* duhat, const T* dv, const T* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                      bool stop_grad, bool fast) {
  if (J == 1 && fast) {  // c == 1 and the softmax gradient is exactly 0: only the sum path remains
#pragma omp parallel for
    for (int64_t b = 0; b < B; ++b) {
      std::vector<T> s(static_cast<size_t>(D), T(0)), ds(static_cast<size_t>(D), T(0));
      const T* uh = uhat + b * N * D;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t d = 0; d < D; ++d) s[d] += T(1) * uh[i * D + d];
      squash_row_backward(ds.data(), dv + b * D, s.data(), D);
      T* g = duhat + b * N * D;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t d = 0; d < D; ++d) g[i * D + d] += ds[d];
    }
    return;
  }
#pragma omp parallel for
  for (int64_t b = 0; b < B; ++b) {
    const T* uh = uhat + b * N * J * D;
    T* g = duhat + b * N * J * D;
    std::vector<T> c(static_cast<size_t>(iters * N * J)), s(static_cast<size_t>(iters * J * D));
    std::vector<T> vt(static_cast<size_t>(iters * J * D)), vbuf(static_cast<size_t>(J * D));
    route_one(vbuf.data(), uh, N, J, D, iters, c.data(), s.data());
    for (int t = 0; t < iters; ++t)
      for (int64_t j = 0; j < J; ++j) squash_row(vt.data() + (t * J + j) * D, s.data() + (t * J + j) * D, D);
    std::vector<T> db(static_cast<size_t>(N * J), T(0)), dvt(static_cast<size_t>(J * D)),
        ds(static_cast<size_t>(J * D)), dc(static_cast<size_t>(N * J));
    std::copy(dv + b * J * D, dv + (b + 1) * J * D, dvt.begin());
    for (int t = iters - 1; t >= 0; --t) {
      const T* ct = c.data() + t * N * J;
      const T* st = s.data() + t * J * D;
      const T* vv = vt.data() + t * J * D;
      if (t + 1 < iters) {  // b_{t+1} = b_t + uhat . v_t
        std::fill(dvt.begin(), dvt.end(), T(0));
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < J; ++j) {
            T gb = db[i * J + j];
            const T* u = uh + (i * J + j) * D;
            for (int64_t d = 0; d < D; ++d) {
              g[(i * J + j) * D + d] += gb * vv[j * D + d];
              dvt[j * D + d] += gb * u[d];
            }
          }
      }
      std::fill(ds.begin(), ds.end(), T(0));
      for (int64_t j = 0; j < J; ++j) squash_row_backward(ds.data() + j * D, dvt.data() + j * D, st + j * D, D);
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < J; ++j) {
          const T* u = uh + (i * J + j) * D;
          T a = 0;
          for (int64_t d = 0; d < D; ++d) {
            g[(i * J + j) * D + d] += ct[i * J + j] * ds[j * D + d];
            a += ds[j * D + d] * u[d];
          }
          dc[i * J + j] = a;
        }
      if (stop_grad) break;  // only the last iteration's sum, with c held constant
      for (int64_t i = 0; i < N; ++i) {  // softmax backward: db_ij += c_ij (dc_ij - sum_k c_ik dc_ik)
        T dot = 0;
        for (int64_t j = 0; j < J; ++j) dot += ct[i * J + j] * dc[i * J + j];
        for (int64_t j = 0; j < J; ++j) db[i * J + j] += ct[i * J + j] * (dc[i * J + j] - dot);
      }
    }
  }
}

template <class T> void length_forward(T* y, const T* v, int64_t rows, int64_t D) {
  for (int64_t r = 0; r < rows; ++r) {
    T n2 = 0;
    for (int64_t d = 0; d < D; ++d) n2 += v[r * D + d] * v[r * D + d];
    y[r] = std::sqrt(n2 + T(kLengthEps));
  }
}

template <class T> void length_backward(T* dv, const T* dy, const T* v, const T* y, int64_t rows, int64_t D) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < D; ++d) dv[r * D + d] += dy[r] * v[r * D + d] / y[r];
}

template <class T> void mask_forward(T* out, const T* v, const int32_t* sel, int64_t B, int64_t J, int64_t D) {
  std::fill(out, out + B * J * D, T(0));
  for (int64_t b = 0; b < B; ++b) {
    int64_t j = sel[b];
    std::copy(v + (b * J + j) * D, v + (b * J + j + 1) * D, out + (b * J + j) * D);
  }
}

template <class T> void mask_backward(T* dv, const T* dout, const int32_t* sel, int64_t B, int64_t J, int64_t D) {
  for (int64_t b = 0; b < B; ++b) {
    int64_t off = (b * J + sel[b]) * D;
    for (int64_t d = 0; d < D; ++d) dv[off + d] += dout[off + d];
  }
}

template <class T> void lane_scale(T* out, const T* in, const T* scale, int64_t B, int64_t J, int64_t L) {
  for (int64_t r = 0; r < B * J; ++r)
    for (int64_t l = 0; l < L; ++l) out[r * L + l] = in[r * L + l] * scale[l];
}

#define MLCN_INSTANTIATE(T)                                                                                 \
  template void squash_forward<T>(T*, const T*, int64_t, int64_t);                                          \
  template void squash_backward<T>(T*, const T*, const T*, int64_t, int64_t);                               \
  template void predict_forward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);    \
  template void predict_backward<T>(T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, \
                                    int64_t);                                                               \
  template void routing_forward<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int, bool);                  \
  template void routing_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, int64_t, int, bool, bool); \
  template void length_forward<T>(T*, const T*, int64_t, int64_t);                                         \
  template void length_backward<T>(T*, const T*, const T*, const T*, int64_t, int64_t);                     \
  template void mask_forward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t);                   \
  template void mask_backward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t);                  \
  template void lane_scale<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);
MLCN_INSTANTIATE(float)
MLCN_INSTANTIATE(double)
#undef MLCN_INSTANTIATE

}  // namespace mlcn::cpu
