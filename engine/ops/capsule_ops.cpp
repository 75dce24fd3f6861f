// Differentiable capsule ops: squash, prediction transform, routing, length, mask, lane
// concatenation and dropout scaling, margin and reconstruction losses.
// A loss value is a one-element tensor on its input's device (on a GPU it is never read back
// here, so the head can be captured in a CUDA graph); index arguments (labels, selected classes)
// and lane scales are tensors on that device too, with host-vector overloads that upload them.
#include <algorithm>

#include "engine/cpu/capsule.h"
#include "engine/cpu/loss.h"
#include "engine/core/backend.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace mlcn {
using namespace detail;

Var squash(Tape& t, const Var& s) {
  const Tensor& S = s->value;
  MLCN_CHECK(S.ndim() >= 1, "squash: needs at least one axis");
  const int64_t D = S.dim(-1), rows = S.numel() / std::max<int64_t>(D, 1);
  bool rg = needs_grad(t, {&s});
  const Stream st = t.stream_for(S);
  Var v = new_output(S.shape(), S, rg, st);
  if (on_cuda(S))
    cuda().squash_forward(st, v->value.data<float>(), S.data<float>(), rows, D);
  else MLCN_DISPATCH_FLOAT(S.dtype(), T, cpu::squash_forward(v->value.data<T>(), S.data<T>(), rows, D));
  if (rg)
    t.record([st, s, v, rows, D]() {
      if (!v->grad.defined()) return;
      if (on_cuda(v->value))
        cuda().squash_backward(st, grad_ptr<float>(s, st), v->grad.data<float>(), s->value.data<float>(), rows, D);
      else
        MLCN_DISPATCH_FLOAT(v->value.dtype(), T,
                            cpu::squash_backward(grad_ptr<T>(s, st), v->grad.data<T>(), s->value.data<T>(), rows, D));
    });
  return v;
}

Var predict(Tape& t, const Var& u, const Var& W) {
  const Tensor& U = u->value;
  const Tensor& Wt = W->value;
  expect_rank("predict", "u", U, 3);
  expect_rank("predict", "W", Wt, 4);
  const int64_t B = U.dim(0), N = U.dim(1), Din = U.dim(2), J = Wt.dim(1), Dout = Wt.dim(2);
  MLCN_CHECK(Wt.dim(0) == N && Wt.dim(3) == Din,
             "predict: W " << shape_str(Wt.shape()) << " does not match u " << shape_str(U.shape()));
  same_device("predict", u, W);
  bool rg = needs_grad(t, {&u, &W});
  const Stream st = t.stream_for(U);
  Var uh = new_output({B, N, J, Dout}, U, rg, st);
  if (on_cuda(U))
    cuda().predict_forward(st, uh->value.data<float>(), U.data<float>(), Wt.data<float>(), B, N, J, Dout, Din);
  else
    MLCN_DISPATCH_FLOAT(U.dtype(), T,
                        cpu::predict_forward(uh->value.data<T>(), U.data<T>(), Wt.data<T>(), B, N, J, Dout, Din));
  if (rg)
    t.record([st, u, W, uh, B, N, J, Dout, Din]() {
      if (!uh->grad.defined()) return;
      MLCN_CHECK(W->requires_grad, "predict: frozen W is not supported");
      if (on_cuda(uh->value))
        cuda().predict_backward(st, grad_ptr<float>(u, st), grad_ptr<float>(W, st), uh->grad.data<float>(),
                                u->value.data<float>(), W->value.data<float>(), B, N, J, Dout, Din);
      else
        MLCN_DISPATCH_FLOAT(uh->value.dtype(), T,
                            cpu::predict_backward(grad_ptr<T>(u, st), grad_ptr<T>(W, st), uh->grad.data<T>(),
                                                  u->value.data<T>(), W->value.data<T>(), B, N, J, Dout, Din));
    });
  return uh;
}

Var routing(Tape& t, const Var& uhat, int iters, bool stop_grad, bool fast) {
  const Tensor& U = uhat->value;
  expect_rank("routing", "uhat", U, 4);
  MLCN_CHECK(iters >= 1, "routing: iterations must be >= 1, got " << iters);
  const int64_t B = U.dim(0), N = U.dim(1), J = U.dim(2), D = U.dim(3);
  bool rg = needs_grad(t, {&uhat});
  const Stream st = t.stream_for(U);
  Var v = new_output({B, J, D}, U, rg, st);
  if (on_cuda(U))
    cuda().routing_forward(st, v->value.data<float>(), U.data<float>(), B, N, J, D, iters, fast);
  else MLCN_DISPATCH_FLOAT(U.dtype(), T, cpu::routing_forward(v->value.data<T>(), U.data<T>(), B, N, J, D, iters, fast));
  if (rg)
    t.record([st, uhat, v, B, N, J, D, iters, stop_grad, fast]() {
      if (!v->grad.defined()) return;
      if (on_cuda(v->value))
        cuda().routing_backward(st, grad_ptr<float>(uhat, st), v->grad.data<float>(), uhat->value.data<float>(), B, N,
                                J, D, iters, stop_grad, fast);
      else
        MLCN_DISPATCH_FLOAT(v->value.dtype(), T,
                            cpu::routing_backward(grad_ptr<T>(uhat, st), v->grad.data<T>(), uhat->value.data<T>(), B, N,
                                                  J, D, iters, stop_grad, fast));
    });
  return v;
}

Var length(Tape& t, const Var& v) {
  const Tensor& V = v->value;
  MLCN_CHECK(V.ndim() >= 2, "length: needs at least two axes, got " << shape_str(V.shape()));
  const int64_t D = V.dim(-1), rows = V.numel() / std::max<int64_t>(D, 1);
  Shape out(V.shape().begin(), V.shape().end() - 1);
  bool rg = needs_grad(t, {&v});
  const Stream st = t.stream_for(V);
  Var y = new_output(out, V, rg, st);
  if (on_cuda(V))
    cuda().length_forward(st, y->value.data<float>(), V.data<float>(), rows, D);
  else MLCN_DISPATCH_FLOAT(V.dtype(), T, cpu::length_forward(y->value.data<T>(), V.data<T>(), rows, D));
  if (rg)
    t.record([st, v, y, rows, D]() {
      if (!y->grad.defined()) return;
      if (on_cuda(y->value))
        cuda().length_backward(st, grad_ptr<float>(v, st), y->grad.data<float>(), v->value.data<float>(),
                               y->value.data<float>(), rows, D);
      else
        MLCN_DISPATCH_FLOAT(y->value.dtype(), T,
                            cpu::length_backward(grad_ptr<T>(v, st), y->grad.data<T>(), v->value.data<T>(),
                                                 y->value.data<T>(), rows, D));
    });
  return y;
}

namespace {
// A host vector as a tensor of dtype dt on `like`'s device (uploaded on stream st).
template <class T> Tensor vector_on(const std::vector<T>& values, DType dt, const Tensor& like, const Stream& st) {
  Tensor h = Tensor::empty({static_cast<int64_t>(values.size())}, dt);
  if (dt == DType::I32) {
    for (size_t i = 0; i < values.size(); ++i) h.data<int32_t>()[i] = static_cast<int32_t>(values[i]);
  } else {
    MLCN_DISPATCH_FLOAT(dt, T2, for (size_t i = 0; i < values.size(); ++i) h.data<T2>()[i] = static_cast<T2>(values[i]));
  }
  return h.to(like.device(), st);
}

// Checks an index tensor (B) against `like` (same device) and, on the host, its range [0, J).
void check_indices(const char* op, const char* what, const Tensor& idx, int64_t B, int64_t J, const Tensor& like) {
  MLCN_CHECK(idx.dtype() == DType::I32 && idx.numel() == B && idx.device() == like.device(),
             op << ": " << idx.numel() << " " << dtype_name(idx.dtype()) << " " << what << " on "
                << idx.device().str() << " for batch " << B << " on " << like.device().str());
  if (!idx.device().is_cpu()) return;  // a device tensor was checked on the host before its upload
  for (int64_t b = 0; b < B; ++b) {
    const int32_t l = idx.data<int32_t>()[b];
    MLCN_CHECK(l >= 0 && l < J, op << ": " << what << " " << l << " out of range [0, " << J << ")");
  }
}

void check_host_indices(const char* op, const char* what, const std::vector<int32_t>& idx, int64_t J) {
  for (int32_t l : idx) MLCN_CHECK(l >= 0 && l < J, op << ": " << what << " " << l << " out of range [0, " << J << ")");
}
}  // namespace

Var mask(Tape& t, const Var& v, const std::vector<int32_t>& sel) {
  expect_rank("mask", "v", v->value, 3);
  check_host_indices("mask", "class", sel, v->value.dim(1));
  return mask(t, v, vector_on(sel, DType::I32, v->value, t.stream_for(v->value)));
}

Var mask(Tape& t, const Var& v, const Tensor& sel) {
  const Tensor& V = v->value;
  expect_rank("mask", "v", V, 3);
  const int64_t B = V.dim(0), J = V.dim(1), D = V.dim(2);
  check_indices("mask", "class", sel, B, J, V);
  bool rg = needs_grad(t, {&v});
  const Stream st = t.stream_for(V);
  Var y = new_output({B, J * D}, V, rg, st);
  const int32_t* sp = sel.data<int32_t>();
  if (on_cuda(V))
    cuda().mask_forward(st, y->value.data<float>(), V.data<float>(), sp, B, J, D);
  else MLCN_DISPATCH_FLOAT(V.dtype(), T, cpu::mask_forward(y->value.data<T>(), V.data<T>(), sp, B, J, D));
  if (rg)
    t.record([st, v, y, sel, B, J, D]() {
      if (!y->grad.defined()) return;
      const int32_t* sp = sel.data<int32_t>();
      if (on_cuda(y->value))
        cuda().mask_backward(st, grad_ptr<float>(v, st), y->grad.data<float>(), sp, B, J, D);
      else
        MLCN_DISPATCH_FLOAT(y->value.dtype(), T,
                            cpu::mask_backward(grad_ptr<T>(v, st), y->grad.data<T>(), sp, B, J, D));
    });
  return y;
}

namespace {
// Copies between a part (rows, D) and columns [off, off+D) of a whole (rows, Dt).
template <class T> void part_copy(T* part, T* whole, int64_t rows, int64_t D, int64_t Dt, int64_t off, bool into_whole) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < D; ++d) {
      if (into_whole) whole[r * Dt + off + d] = part[r * D + d];
      else part[r * D + d] += whole[r * Dt + off + d];
    }
}
}  // namespace

Var concat_last(Tape& t, const std::vector<Var>& parts) {
  MLCN_CHECK(!parts.empty(), "concat_last: no inputs");
  const Tensor& P0 = parts[0]->value;
  expect_rank("concat_last", "part", P0, 3);
  int64_t Dt = 0;
  bool rg = false;
  for (const Var& p : parts) {
    same_device("concat_last", parts[0], p);
    MLCN_CHECK(p->value.ndim() == 3 && p->value.dim(0) == P0.dim(0) && p->value.dim(1) == P0.dim(1),
               "concat_last: part " << shape_str(p->value.shape()) << " vs " << shape_str(P0.shape()));
    Dt += p->value.dim(2);
    rg = rg || (t.grad_enabled && p->requires_grad);
  }
  const int64_t rows = P0.dim(0) * P0.dim(1);
  const Stream st = t.stream_for(P0);
  Var y = new_output({P0.dim(0), P0.dim(1), Dt}, P0, rg, st);
  int64_t off = 0;
  for (const Var& p : parts) {
    const int64_t D = p->value.dim(2);
    if (on_cuda(P0))
      cuda().concat_copy(st, y->value.data<float>(), p->value.data<float>(), rows, D, Dt, off, true);
    else
      MLCN_DISPATCH_FLOAT(P0.dtype(), T, part_copy(p->value.data<T>(), y->value.data<T>(), rows, D, Dt, off, true));
    off += D;
  }
  if (rg)
    t.record([st, parts, y, rows, Dt]() {
      if (!y->grad.defined()) return;
      int64_t o = 0;
      for (const Var& p : parts) {
        const int64_t D = p->value.dim(2);
        if (p->requires_grad) {
          if (on_cuda(y->value))
            cuda().concat_copy(st, p->grad_buffer(st).data<float>(), y->grad.data<float>(), rows, D, Dt, o, false);
          else
            MLCN_DISPATCH_FLOAT(y->value.dtype(), T,
                                part_copy(p->grad_buffer(st).data<T>(), y->grad.data<T>(), rows, D, Dt, o, false));
        }
        o += D;
      }
    });
  return y;
}

std::vector<Var> split_last(Tape& t, const Var& x, const std::vector<int64_t>& sizes) {
  const Tensor& X = x->value;
  expect_rank("split_last", "input", X, 3);
  int64_t Dt = 0;
  for (int64_t D : sizes) {
    MLCN_CHECK(D >= 1, "split_last: part width " << D);
    Dt += D;
  }
  MLCN_CHECK(Dt == X.dim(2), "split_last: parts of total width " << Dt << " from " << shape_str(X.shape()));
  const bool rg = needs_grad(t, {&x});
  const Stream st = t.stream_for(X);
  const int64_t rows = X.dim(0) * X.dim(1);
  std::vector<Var> parts;
  int64_t off = 0;
  for (int64_t D : sizes) {
    Var p = make_var(Tensor::zeros({X.dim(0), X.dim(1), D}, X.dtype(), X.device(), st), rg);
    if (on_cuda(X))
      cuda().concat_copy(st, p->value.data<float>(), X.data<float>(), rows, D, Dt, off, false);
    else
      MLCN_DISPATCH_FLOAT(X.dtype(), T, part_copy(p->value.data<T>(), X.data<T>(), rows, D, Dt, off, false));
    parts.push_back(p);
    off += D;
  }
  if (rg)
    t.record([st, x, parts, rows, Dt]() {
      // The parts tile x's columns: assemble their gradients whole, then add once.
      Tensor whole = Tensor::empty(x->value.shape(), x->value.dtype(), x->value.device(), st);
      int64_t o = 0;
      for (const Var& p : parts) {
        const int64_t D = p->value.dim(2);
        if (on_cuda(whole))
          cuda().concat_copy(st, whole.data<float>(), p->grad_buffer(st).data<float>(), rows, D, Dt, o, true);
        else
          MLCN_DISPATCH_FLOAT(whole.dtype(), T,
                              part_copy(p->grad_buffer(st).data<T>(), whole.data<T>(), rows, D, Dt, o, true));
        o += D;
      }
      accumulate(x->grad_buffer(st), whole, st);
    });
  return parts;
}

Var lane_scale(Tape& t, const Var& V, const std::vector<double>& scale) {
  return lane_scale(t, V, vector_on(scale, V->value.dtype(), V->value, t.stream_for(V->value)));
}

Var lane_scale(Tape& t, const Var& V, const Tensor& scale) {
  const Tensor& X = V->value;
  expect_rank("lane_scale", "V", X, 3);
  const int64_t B = X.dim(0), J = X.dim(1), L = X.dim(2);
  MLCN_CHECK(scale.numel() == L && scale.dtype() == X.dtype() && scale.device() == X.device(),
             "lane_scale: " << scale.numel() << " " << dtype_name(scale.dtype()) << " scales on "
                            << scale.device().str() << " for " << L << " lanes on " << X.device().str());
  bool rg = needs_grad(t, {&V});
  const Stream st = t.stream_for(X);
  Var y = new_output(X.shape(), X, rg, st);
  auto run = [B, J, L, scale, st](const Tensor& in, Tensor& out, bool add) {
    if (on_cuda(in)) {
      MLCN_CHECK(!add, "lane_scale: CUDA backward goes through a temporary");
      cuda().lane_scale(st, out.data<float>(), in.data<float>(), scale.data<float>(), B, J, L);
      return;
    }
    MLCN_DISPATCH_FLOAT(in.dtype(), T, {
      const T* sc = scale.data<T>();
      if (!add) {
        cpu::lane_scale(out.data<T>(), in.data<T>(), sc, B, J, L);
      } else {
        const T* g = in.data<T>();
        T* o = out.data<T>();
        for (int64_t r = 0; r < B * J; ++r)
          for (int64_t l = 0; l < L; ++l) o[r * L + l] += g[r * L + l] * sc[l];
      }
    });
  };
  run(X, y->value, false);
  if (rg)
    t.record([st, V, y, run]() {
      if (!y->grad.defined()) return;
      if (on_cuda(y->value)) {
        Tensor tmp = Tensor::empty(y->value.shape(), y->value.dtype(), y->value.device(), st);
        run(y->grad, tmp, false);
        accumulate(V->grad_buffer(st), tmp, st);
      } else {
        run(y->grad, V->grad_buffer(st), true);
      }
    });
  return y;
}

Var margin_loss(Tape& t, const Var& y, const std::vector<int32_t>& labels) {
  expect_rank("margin_loss", "lengths", y->value, 2);
  check_host_indices("margin_loss", "label", labels, y->value.dim(1));
  return margin_loss(t, y, vector_on(labels, DType::I32, y->value, t.stream_for(y->value)));
}

Var margin_loss(Tape& t, const Var& y, const Tensor& labels) {
  const Tensor& Y = y->value;
  expect_rank("margin_loss", "lengths", Y, 2);
  const int64_t B = Y.dim(0), J = Y.dim(1);
  check_indices("margin_loss", "label", labels, B, J, Y);
  bool rg = needs_grad(t, {&y});
  const Stream st = t.stream_for(Y);
  Var loss = new_output({1}, Y, rg, st);
  const int32_t* lp = labels.data<int32_t>();
  if (on_cuda(Y))
    cuda().margin_forward(st, loss->value.data<float>(), Y.data<float>(), lp, B, J);
  else MLCN_DISPATCH_FLOAT(Y.dtype(), T, loss->value.data<T>()[0] = T(cpu::margin_forward(Y.data<T>(), lp, B, J)));
  if (rg)
    t.record([st, y, loss, labels, B, J]() {
      if (!loss->grad.defined()) return;
      const int32_t* lp = labels.data<int32_t>();
      if (on_cuda(y->value))
        cuda().margin_backward(st, grad_ptr<float>(y, st), loss->grad.data<float>(), y->value.data<float>(), lp, B, J);
      else
        MLCN_DISPATCH_FLOAT(y->value.dtype(), T,
                            cpu::margin_backward(grad_ptr<T>(y, st), loss->grad.data<T>()[0], y->value.data<T>(), lp,
                                                 B, J));
    });
  return loss;
}

Var mse_loss(Tape& t, const Var& a, const Tensor& target) {
  const Tensor& A = a->value;
  MLCN_CHECK(A.numel() == target.numel() && A.dtype() == target.dtype() && A.device() == target.device(),
             "mse_loss: prediction " << shape_str(A.shape()) << " vs target " << shape_str(target.shape()));
  const int64_t n = A.numel();
  bool rg = needs_grad(t, {&a});
  const Stream st = t.stream_for(A);
  Var loss = new_output({1}, A, rg, st);
  if (on_cuda(A))
    cuda().mse_forward(st, loss->value.data<float>(), A.data<float>(), target.data<float>(), n);
  else MLCN_DISPATCH_FLOAT(A.dtype(), T, loss->value.data<T>()[0] = T(cpu::mse_forward(A.data<T>(), target.data<T>(), n)));
  if (rg)
    t.record([st, a, loss, target, n]() {
      if (!loss->grad.defined()) return;
      if (on_cuda(a->value))
        cuda().mse_backward(st, grad_ptr<float>(a, st), loss->grad.data<float>(), a->value.data<float>(),
                            target.data<float>(), n);
      else
        MLCN_DISPATCH_FLOAT(a->value.dtype(), T,
                            cpu::mse_backward(grad_ptr<T>(a, st), loss->grad.data<T>()[0], a->value.data<T>(),
                                              target.data<T>(), n));
    });
  return loss;
}

std::vector<int32_t> argmax_rows(const Tensor& y, const Stream& s) {
  Tensor h = y.to(Device::cpu(), s);
  const int64_t B = h.dim(0), J = h.dim(1);
  std::vector<int32_t> out(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    int32_t best = 0;
    for (int64_t j = 1; j < J; ++j)
      if (h.item(b * J + j) > h.item(b * J + best)) best = static_cast<int32_t>(j);
    out[static_cast<size_t>(b)] = best;
  }
  return out;
}

}  // namespace mlcn
