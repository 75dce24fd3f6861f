// Differentiable conv2d and dense (each with an optional fused ReLU), depthwise conv, matmul,
// ReLU, sigmoid, reshape and scalar sums.
#include "engine/cpu/conv.h"
#include "engine/cpu/conv_dnnl.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/gemm.h"
#include "engine/core/backend.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace mlcn {
using namespace detail;

namespace {
// The gradient before a fused ReLU, (rows, cols) like y, from the layer's output y and its
// gradient. On a GPU one pass also adds the bias gradient's column sums into db (may be null);
// on the CPU the layer's own backward sums them, as it does without the fusion.
Tensor relu_grad(const Var& y, int64_t cols, float* db_cuda, const Stream& st) {
  const Tensor& Y = y->value;
  Tensor d = Tensor::empty(Y.shape(), Y.dtype(), Y.device(), st);
  const int64_t rows = Y.numel() / cols;
  if (on_cuda(Y))
    cuda().relu_bias_backward(st, d.data<float>(), db_cuda, y->grad.data<float>(), Y.data<float>(), rows, cols);
  else
    MLCN_DISPATCH_FLOAT(Y.dtype(), T,
                        cpu::relu_bias_backward<T>(d.data<T>(), nullptr, y->grad.data<T>(), Y.data<T>(), rows, cols));
  return d;
}
}  // namespace

Var conv2d(Tape& t, const Var& x, const Var& w, const Var& b, int stride, bool same, int groups, Act act) {
  const Tensor& X = x->value;
  const Tensor& Wt = w->value;
  expect_rank("conv2d", "input", X, 4);
  expect_rank("conv2d", "filter", Wt, 4);
  MLCN_CHECK(groups >= 1 && X.dim(3) % groups == 0 && Wt.dim(0) % groups == 0 && Wt.dim(3) * groups == X.dim(3),
             "conv2d: filter " << shape_str(Wt.shape()) << " vs input " << shape_str(X.shape()) << " in " << groups
                               << " group(s)");
  MLCN_CHECK(!b || b->value.numel() == Wt.dim(0), "conv2d: bias " << shape_str(b->value.shape()));
  same_device("conv2d", x, w);
  same_device("conv2d", x, b);
  ConvShape s =
      make_conv_shape(X.dim(0), X.dim(1), X.dim(2), X.dim(3), Wt.dim(0), Wt.dim(1), Wt.dim(2), stride, same);
  s.groups = groups;
  bool rg = needs_grad(t, {&x, &w, &b});
  const Stream st = t.stream_for(X);
  Var y = new_output({s.B, s.OH, s.OW, s.K}, X, rg, st);
  const bool fuse = act == Act::Relu;
  const int64_t rows = s.B * s.OH * s.OW;
  if (on_cuda(X)) {  // fused: the bias joins the ReLU's pass instead of its own
    const float* bias = b ? b->value.data<float>() : nullptr;
    cuda().conv2d_forward(st, y->value.data<float>(), X.data<float>(), Wt.data<float>(), fuse ? nullptr : bias, s);
    if (fuse) cuda().bias_relu_forward(st, y->value.data<float>(), bias, rows, s.K);
  } else {
    // float32: oneDNN with the ReLU fused (conv_dnnl.h); float64 and shapes it does not take: the twin.
    const bool done = X.dtype() == DType::F32 &&
                      cpu::dnnl_conv::forward(y->value.data<float>(), X.data<float>(), Wt.data<float>(),
                                              b ? b->value.data<float>() : nullptr, fuse, s);
    if (!done)
      MLCN_DISPATCH_FLOAT(X.dtype(), T, {
        cpu::conv2d_forward(y->value.data<T>(), X.data<T>(), Wt.data<T>(), b ? b->value.data<T>() : nullptr, s);
        if (fuse) cpu::bias_relu_forward<T>(y->value.data<T>(), nullptr, rows, s.K);
      });
  }
  if (rg)
    t.record([st, x, w, b, y, s, fuse]() {
      if (!y->grad.defined()) return;
      if (on_cuda(y->value)) {
        float* db = grad_ptr<float>(b, st);
        const Tensor dY = fuse ? relu_grad(y, s.K, db, st) : y->grad;
        cuda().conv2d_backward(st, grad_ptr<float>(x, st), grad_ptr<float>(w, st), fuse ? nullptr : db,
                               dY.data<float>(), x->value.data<float>(), w->value.data<float>(), s);
      } else {
        const Tensor dY = fuse ? relu_grad(y, s.K, nullptr, st) : y->grad;
        MLCN_CHECK(w->requires_grad, "conv2d: frozen filters are not supported");
        // float32: oneDNN per direction where it is the faster choice (conv_dnnl.h), the twin for the rest.
        bool w_done = false, x_done = !x->requires_grad;
        if (y->value.dtype() == DType::F32) {
          w_done = cpu::dnnl_conv::backward_weights(grad_ptr<float>(w, st), grad_ptr<float>(b, st), dY.data<float>(),
                                                    x->value.data<float>(), s);
          x_done = x_done || cpu::dnnl_conv::backward_data(grad_ptr<float>(x, st), dY.data<float>(),
                                                           w->value.data<float>(), s);
        }
        if (w_done && x_done) return;
        MLCN_DISPATCH_FLOAT(y->value.dtype(), T, {
          cpu::conv2d_backward(x_done ? nullptr : grad_ptr<T>(x, st), w_done ? nullptr : grad_ptr<T>(w, st),
                               grad_ptr<T>(b, st), dY.data<T>(), x->value.data<T>(), w->value.data<T>(), s);
        });
      }
    });
  return y;
}

Var depthwise_conv2d(Tape& t, const Var& x, const Var& w, int stride, bool same) {
  const Tensor& X = x->value;
  const Tensor& Wt = w->value;
  expect_rank("depthwise_conv2d", "input", X, 4);
  expect_rank("depthwise_conv2d", "filter", Wt, 3);
  MLCN_CHECK(Wt.dim(0) == X.dim(3), "depthwise_conv2d: filter " << shape_str(Wt.shape()) << " vs input "
                                                                << shape_str(X.shape()));
  same_device("depthwise_conv2d", x, w);
  ConvShape s =
      make_conv_shape(X.dim(0), X.dim(1), X.dim(2), X.dim(3), X.dim(3), Wt.dim(1), Wt.dim(2), stride, same);
  bool rg = needs_grad(t, {&x, &w});
  const Stream st = t.stream_for(X);
  Var y = new_output({s.B, s.OH, s.OW, s.C}, X, rg, st);
  if (on_cuda(X)) {
    cuda().depthwise_forward(st, y->value.data<float>(), X.data<float>(), Wt.data<float>(), s);
  } else {
    MLCN_DISPATCH_FLOAT(X.dtype(), T, cpu::depthwise_forward(y->value.data<T>(), X.data<T>(), Wt.data<T>(), s));
  }
  if (rg)
    t.record([st, x, w, y, s]() {
      if (!y->grad.defined()) return;
      MLCN_CHECK(w->requires_grad, "depthwise_conv2d: frozen filters are not supported");
      if (on_cuda(y->value)) {
        cuda().depthwise_backward(st, grad_ptr<float>(x, st), grad_ptr<float>(w, st), y->grad.data<float>(),
                                  x->value.data<float>(), w->value.data<float>(), s);
      } else {
        MLCN_DISPATCH_FLOAT(y->value.dtype(), T,
                            cpu::depthwise_backward(grad_ptr<T>(x, st), grad_ptr<T>(w, st), y->grad.data<T>(),
                                                    x->value.data<T>(), w->value.data<T>(), s));
      }
    });
  return y;
}

namespace {

// y (N,out) = x (N,in) . op(w) [+ b]; w is (out,in) when w_out_major, else (in,out).
// act: a ReLU fused with the bias add (forward) and the bias gradient (backward).
Var linear(Tape& t, const char* op, const Var& x, const Var& w, const Var& b, bool w_out_major, Act act) {
  const Tensor& X = x->value;
  const Tensor& Wt = w->value;
  expect_rank(op, "input", X, 2);
  expect_rank(op, "weight", Wt, 2);
  const int64_t N = X.dim(0), in = X.dim(1), out = w_out_major ? Wt.dim(0) : Wt.dim(1);
  MLCN_CHECK((w_out_major ? Wt.dim(1) : Wt.dim(0)) == in,
             op << ": weight " << shape_str(Wt.shape()) << " vs input " << shape_str(X.shape()));
  MLCN_CHECK(!b || b->value.numel() == out, op << ": bias " << shape_str(b->value.shape()));
  same_device(op, x, w);
  same_device(op, x, b);
  bool rg = needs_grad(t, {&x, &w, &b});
  const Stream st = t.stream_for(X);
  Var y = new_output({N, out}, X, rg, st);
  const bool fuse = act == Act::Relu;
  if (on_cuda(X)) {
    cuda().gemm(st, false, w_out_major, N, out, in, X.data<float>(), Wt.data<float>(), 0.f, y->value.data<float>());
    const float* bias = b ? b->value.data<float>() : nullptr;
    if (fuse) cuda().bias_relu_forward(st, y->value.data<float>(), bias, N, out);
    else if (b) cuda().bias_add(st, y->value.data<float>(), bias, N, out);
  } else {
    MLCN_DISPATCH_FLOAT(X.dtype(), T, {
      cpu::gemm<T>(false, w_out_major, N, out, in, X.data<T>(), Wt.data<T>(), T(0), y->value.data<T>());
      if (b) {
        T* Y = y->value.data<T>();
        const T* B = b->value.data<T>();
        for (int64_t r = 0; r < N; ++r)
          for (int64_t c = 0; c < out; ++c) Y[r * out + c] += B[c];
      }
      if (fuse) cpu::bias_relu_forward<T>(y->value.data<T>(), nullptr, N, out);
    });
  }
  if (rg)
    t.record([st, x, w, b, y, N, in, out, w_out_major, fuse]() {
      if (!y->grad.defined()) return;
      if (on_cuda(y->value)) {
        float* db = grad_ptr<float>(b, st);
        const Tensor dYt = fuse ? relu_grad(y, out, db, st) : y->grad;
        const float* dY = dYt.data<float>();
        if (w->requires_grad) {
          if (w_out_major)
            cuda().gemm(st, true, false, out, in, N, dY, x->value.data<float>(), 1.f, grad_ptr<float>(w, st));
          else
            cuda().gemm(st, true, false, in, out, N, x->value.data<float>(), dY, 1.f, grad_ptr<float>(w, st));
        }
        if (x->requires_grad)
          cuda().gemm(st, false, !w_out_major, N, in, out, dY, w->value.data<float>(), 1.f, grad_ptr<float>(x, st));
        if (db && !fuse) cuda().bias_backward(st, db, dY, N, out);
        return;
      }
      const Tensor dYt = fuse ? relu_grad(y, out, nullptr, st) : y->grad;
      MLCN_DISPATCH_FLOAT(y->value.dtype(), T, {
        const T* dY = dYt.data<T>();
        if (w->requires_grad) {
          if (w_out_major)
            cpu::gemm<T>(true, false, out, in, N, dY, x->value.data<T>(), T(1), grad_ptr<T>(w, st));
          else
            cpu::gemm<T>(true, false, in, out, N, x->value.data<T>(), dY, T(1), grad_ptr<T>(w, st));
        }
        if (x->requires_grad)
          cpu::gemm<T>(false, !w_out_major, N, in, out, dY, w->value.data<T>(), T(1), grad_ptr<T>(x, st));
        if (b && b->requires_grad) {
          T* dB = grad_ptr<T>(b, st);
          for (int64_t r = 0; r < N; ++r)
            for (int64_t c = 0; c < out; ++c) dB[c] += dY[r * out + c];
        }
      });
    });
  return y;
}

using CudaUnaryFwd = void (*kernels::Api::*)(Stream, float*, const float*, int64_t);
using CudaUnaryBwd = void (*kernels::Api::*)(Stream, float*, const float*, const float*, int64_t);

// y = f(x) elementwise, with backward in terms of the output; cfwd, cbwd: the backend's entries.
template <class Fwd, class Bwd>
Var unary(Tape& t, const Var& x, Fwd fwd, Bwd bwd, CudaUnaryFwd cfwd, CudaUnaryBwd cbwd) {
  bool rg = needs_grad(t, {&x});
  const Stream st = t.stream_for(x->value);
  Var y = new_output(x->value.shape(), x->value, rg, st);
  const int64_t n = x->value.numel();
  if (on_cuda(x->value))
    (cuda().*cfwd)(st, y->value.data<float>(), x->value.data<float>(), n);
  else MLCN_DISPATCH_FLOAT(x->value.dtype(), T, fwd(y->value.data<T>(), x->value.data<T>(), n));
  if (rg)
    t.record([st, x, y, n, bwd, cbwd]() {
      if (!y->grad.defined()) return;
      if (on_cuda(y->value))
        (cuda().*cbwd)(st, x->grad_buffer(st).data<float>(), y->grad.data<float>(), y->value.data<float>(), n);
      else
        MLCN_DISPATCH_FLOAT(y->value.dtype(), T,
                            bwd(x->grad_buffer(st).data<T>(), y->grad.data<T>(), y->value.data<T>(), n));
    });
  return y;
}

}  // namespace

Var dense(Tape& t, const Var& x, const Var& w, const Var& b, Act act) { return linear(t, "dense", x, w, b, true, act); }
Var matmul(Tape& t, const Var& x, const Var& w) { return linear(t, "matmul", x, w, nullptr, false, Act::None); }

Var relu(Tape& t, const Var& x) {
  return unary(
      t, x, [](auto* o, const auto* i, int64_t n) { cpu::relu_forward(o, i, n); },
      [](auto* di, const auto* dout, const auto* o, int64_t n) { cpu::relu_backward(di, dout, o, n); },
      &kernels::Api::relu_forward, &kernels::Api::relu_backward);
}

Var sigmoid(Tape& t, const Var& x) {
  return unary(
      t, x, [](auto* o, const auto* i, int64_t n) { cpu::sigmoid_forward(o, i, n); },
      [](auto* di, const auto* dout, const auto* o, int64_t n) { cpu::sigmoid_backward(di, dout, o, n); },
      &kernels::Api::sigmoid_forward, &kernels::Api::sigmoid_backward);
}

Var reshape(Tape& t, const Var& x, const Shape& shape) {
  bool rg = needs_grad(t, {&x});
  Var y = make_var(x->value.reshape(shape), rg);
  if (rg) y->grad = x->grad_buffer(t.stream_for(x->value)).reshape(y->value.shape());
  return y;
}

Var add_scaled(Tape& t, const Var& a, const Var& b, double k) {
  MLCN_CHECK(a->value.numel() == 1 && b->value.numel() == 1, "add_scaled takes two scalars");
  same_device("add_scaled", a, b);
  bool rg = needs_grad(t, {&a, &b});
  const Stream st = t.stream_for(a->value);
  Var y = new_output({1}, a->value, rg, st);
  if (on_cuda(a->value)) {  // y = a, then y += k b: no read-back
    y->value.copy_from(a->value, st);
    cuda().axpy(st, y->value.data<float>(), b->value.data<float>(), static_cast<float>(k), 1);
  } else {
    y->value.set(0, a->value.item() + k * b->value.item());
  }
  if (rg)
    t.record([st, a, b, y, k]() {
      if (!y->grad.defined()) return;
      if (on_cuda(y->value)) {
        if (a->requires_grad) cuda().axpy(st, a->grad_buffer(st).data<float>(), y->grad.data<float>(), 1.f, 1);
        if (b->requires_grad)
          cuda().axpy(st, b->grad_buffer(st).data<float>(), y->grad.data<float>(), static_cast<float>(k), 1);
        return;
      }
      double g = y->grad.item();
      if (a->requires_grad) a->grad_buffer().set(0, a->grad_buffer().item() + g);
      if (b->requires_grad) b->grad_buffer().set(0, b->grad_buffer().item() + k * g);
    });
  return y;
}

}  // namespace mlcn
