// CPU capsule kernels: squash, the prediction transform, dynamic routing, length, mask,
// lane dropout. Backward kernels accumulate (+=). Math (eps = kSquashEps = 1e-7, Keras' epsilon):
//   squash(s) = |s|^2/(1+|s|^2) * s/sqrt(|s|^2+eps)             over the last axis
//   length(v) = sqrt(|v|^2 + eps)
//   routing:  b = 0; r times: c = softmax_j(b); s_j = sum_i c_ij u_ij; v_j = squash(s_j);
//             b_ij += u_ij . v_j (not after the last iteration)
// Derivations: docs/derivations.md.
#pragma once
#include <cstdint>

#include "base/capsule_constants.h"  // defines: kSquashEps, kLengthEps


namespace mlcn::cpu {

// v, s: (rows, D)
template <class T> void squash_forward(T* v, const T* s, int64_t rows, int64_t D);
template <class T> void squash_backward(T* ds, const T* dv, const T* s, int64_t rows, int64_t D);

// Prediction transform uhat = W . u.
// u: (B, N, Din); W: (N, J, Dout, Din); uhat: (B, N, J, Dout)
template <class T>
void predict_forward(T* uhat, const T* u, const T* W, int64_t B, int64_t N, int64_t J, int64_t Dout, int64_t Din);
// du (B,N,Din) [may be null], dW (N,J,Dout,Din)
template <class T>
void predict_backward(T* du, T* dW, const T* duhat, const T* u, const T* W, int64_t B, int64_t N, int64_t J,
                      int64_t Dout, int64_t Din);

// Dynamic routing. uhat: (B, N, J, D) -> v: (B, J, D). iters >= 1.
// With fast, J == 1 takes the fast path (c == 1 exactly, so the iterations cannot change
// anything); it gives bit-identical results to the general loop.
template <class T>
void routing_forward(T* v, const T* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters, bool fast);
// Full gradient through every iteration, or with stop_grad the gradient of the last
// iteration's s = sum_i c_i uhat_i with c held constant (naturomics / early CapsNet-Keras).
template <class T>
void routing_backward(T* duhat, const T* dv, const T* uhat, int64_t B, int64_t N, int64_t J, int64_t D, int iters,
                      bool stop_grad, bool fast);

// y (rows) = length of v (rows, D)
template <class T> void length_forward(T* y, const T* v, int64_t rows, int64_t D);
template <class T> void length_backward(T* dv, const T* dy, const T* v, const T* y, int64_t rows, int64_t D);

// out (B, J*D) = v (B, J, D) where j == sel[b], else 0 (class-major flatten).
template <class T> void mask_forward(T* out, const T* v, const int32_t* sel, int64_t B, int64_t J, int64_t D);
template <class T> void mask_backward(T* dv, const T* dout, const int32_t* sel, int64_t B, int64_t J, int64_t D);

// out (B, J, L) = in (B, J, L) * scale[l]  (lane dropout: scale is 0 or 1/(1-p) per lane)
template <class T> void lane_scale(T* out, const T* in, const T* scale, int64_t B, int64_t J, int64_t L);

}  // namespace mlcn::cpu
