// The differentiable ops of the engine (Var in, Var out), each recording its backward on the
// tape it is given. Every op validates shapes and devices once, then dispatches to the CPU
// twin (engine/cpu, float32 or float64) or the CUDA backend's entry (engine/core/backend.h,
// kernels/api.h) on the tape's stream (docs/ops.md).
// Activations are NHWC; conv filters are OHWI (K, kh, kw, C); dense weights are (out, in).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/autograd.h"

namespace mlcn {

// The activation a layer applies to its output: Relu fuses relu() with the bias add (forward)
// and the bias gradient (backward) in one pass each on a GPU; the values are relu(layer(x)) as
// with a separate relu().
enum class Act { None, Relu };

// x (B,H,W,C), w (K,kh,kw,C/groups), b (K) or null -> (B,OH,OW,K); `same` pads like Keras.
// groups > 1: output channels [g K/G, (g+1) K/G) see input channels [g C/G, (g+1) C/G) only.
Var conv2d(Tape& t, const Var& x, const Var& w, const Var& b, int stride, bool same, int groups = 1,
           Act act = Act::None);
// x (B,H,W,C), w (C,kh,kw) -> (B,OH,OW,C); no bias.
Var depthwise_conv2d(Tape& t, const Var& x, const Var& w, int stride, bool same);
// x (N,in), w (out,in), b (out) or null -> (N,out)
Var dense(Tape& t, const Var& x, const Var& w, const Var& b, Act act = Act::None);
// x (N,in), w (in,out) -> (N,out)
Var matmul(Tape& t, const Var& x, const Var& w);
Var relu(Tape& t, const Var& x);
Var sigmoid(Tape& t, const Var& x);
// A view with another shape; its gradient aliases x's gradient (no closure needed).
Var reshape(Tape& t, const Var& x, const Shape& shape);

// squash over the last axis; s (..., D)
Var squash(Tape& t, const Var& s);
// u (B,N,Din), W (N,J,Dout,Din) -> uhat (B,N,J,Dout)
Var predict(Tape& t, const Var& u, const Var& W);
// uhat (B,N,J,D) -> v (B,J,D); full gradient unless stop_grad; fast J == 1 path unless !fast
Var routing(Tape& t, const Var& uhat, int iters, bool stop_grad = false, bool fast = true);
// v (..., D) -> (...)
Var length(Tape& t, const Var& v);
// v (B,J,D), sel (B) class per sample -> (B, J*D) class-major, zero outside the selected class.
// sel: an int32 tensor on v's device (a device tensor's range is the caller's to check), or a
// host vector (checked, then uploaded).
Var mask(Tape& t, const Var& v, const Tensor& sel);
Var mask(Tape& t, const Var& v, const std::vector<int32_t>& sel);
// parts: each (B,J,D_l) -> (B,J,sum D_l)
Var concat_last(Tape& t, const std::vector<Var>& parts);
// x (B,J,sum D_k) -> parts (B,J,D_k) in order: the inverse of concat_last
std::vector<Var> split_last(Tape& t, const Var& x, const std::vector<int64_t>& sizes);
// V (B,J,L) * scale (L) per lane (lane dropout), each 0 or 1/(1-p): a tensor of V's dtype on
// V's device, or a host vector (uploaded)
Var lane_scale(Tape& t, const Var& V, const Tensor& scale);
Var lane_scale(Tape& t, const Var& V, const std::vector<double>& scale);
// y (B,J), labels (B) -> scalar (1) on y's device; labels as mask's sel
Var margin_loss(Tape& t, const Var& y, const Tensor& labels);
Var margin_loss(Tape& t, const Var& y, const std::vector<int32_t>& labels);
// a (n...), target same numel (no gradient) -> scalar (1) on a's device
Var mse_loss(Tape& t, const Var& a, const Tensor& target);
// scalar a + k * scalar b (both (1) on one device)
Var add_scaled(Tape& t, const Var& a, const Var& b, double k);

// argmax over the last axis of y (B,J) (host); a GPU y is copied to the host on stream s.
std::vector<int32_t> argmax_rows(const Tensor& y, const Stream& s = {});

}  // namespace mlcn
