// Small helpers shared by the op implementations: output creation and argument checks.
#pragma once
#include <string>

#include "engine/core/autograd.h"

namespace mlcn::detail {

// An output shaped `shape` on like's device, allocated on stream s (the tape's).
inline Var new_output(const Shape& shape, const Tensor& like, bool requires_grad, const Stream& s) {
  return make_var(Tensor::empty(shape, like.dtype(), like.device(), s), requires_grad);
}

inline void same_device(const char* op, const Var& a, const Var& b) {
  if (!b) return;
  MLCN_CHECK(a->value.device() == b->value.device() && a->value.dtype() == b->value.dtype(),
             op << ": inputs on " << a->value.device().str() << "/" << dtype_name(a->value.dtype()) << " and "
                << b->value.device().str() << "/" << dtype_name(b->value.dtype()));
}

inline void expect_rank(const char* op, const char* what, const Tensor& t, int rank) {
  MLCN_CHECK(t.ndim() == rank, op << ": " << what << " must have rank " << rank << ", got " << shape_str(t.shape()));
}

inline bool on_cuda(const Tensor& t) {
  if (!t.device().is_cuda()) return false;
  MLCN_CHECK(t.dtype() == DType::F32, "the CUDA backend is float32 only");
  return true;
}

// grad pointer of an input that needs it, else null; a new buffer is made on stream s
template <class T>
T* grad_ptr(const Var& v, const Stream& s) {
  return (v && v->requires_grad) ? v->grad_buffer(s).template data<T>() : nullptr;
}

}  // namespace mlcn::detail
