// One conv2d parity case of the CUDA tests: forward and backward (input, filter and bias
// gradients, accumulating into random initial values) through the backend table against the CPU
// twin (engine/cpu/conv.h), with guard regions checked. Shared by test_conv.cpp and the
// emulator's fallback test (tests/emu/test_conv_fallback.cpp).
// Tolerances: cuDNN may pick any algorithm (implicit GEMM, FFT, Winograd) whose float32 error is
// relative to the output's magnitude, so every comparison uses rtol 1e-4 and atol 1e-4 * max|ref|
// (an indexing bug gives O(1) relative errors). TF32 is off throughout.
#pragma once
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "engine/cpu/conv.h"
#include "engine/core/backend.h"

namespace mlcn::test {

struct ConvCase {
  const char* name;
  int64_t B, H, W, C, K, kh, kw, stride;
  bool same, bias, with_din;
  int64_t groups = 1;
};

inline void check_magnitude(const std::vector<float>& got, const std::vector<float>& ref, const std::string& what) {
  expect_close(got, ref, 1e-4, 1e-4 * double(max_abs(ref)), what);
}

inline void check_conv_parity(const ConvCase& c) {
  INFO(c.name);
  ConvShape s = make_conv_shape(c.B, c.H, c.W, c.C, c.K, c.kh, c.kw, c.stride, c.same);
  s.groups = c.groups;
  const size_t nin = size_t(s.B * s.H * s.W * s.C), nw = size_t(s.K * s.kh * s.kw * s.C / s.groups);
  const size_t nout = size_t(s.B * s.OH * s.OW * s.K);
  const auto in = rand_vec(nin, 201), w = rand_vec(nw, 202), b = rand_vec(size_t(s.K), 203);
  const auto dout = rand_vec(nout, 204), din0 = rand_vec(nin, 205), dw0 = rand_vec(nw, 206);
  const auto db0 = rand_vec(size_t(s.K), 207);
  Guarded d_in(in), d_w(w), d_b(b), d_out(nout), d_dout(dout), d_din(din0), d_dw(dw0), d_db(db0);

  cuda().conv2d_forward(kS0, d_out.get(), d_in.get(), d_w.get(), c.bias ? d_b.get() : nullptr, s);
  std::vector<float> out(nout), din = din0, dw = dw0, db = db0;
  cpu::conv2d_forward(out.data(), in.data(), w.data(), c.bias ? b.data() : nullptr, s);
  check_magnitude(d_out.host(), out, "conv2d forward");
  d_out.expect_guards_intact("conv2d forward");

  cuda().conv2d_backward(kS0, c.with_din ? d_din.get() : nullptr, d_dw.get(), c.bias ? d_db.get() : nullptr,
                         d_dout.get(), d_in.get(), d_w.get(), s);
  cpu::conv2d_backward(c.with_din ? din.data() : nullptr, dw.data(), c.bias ? db.data() : nullptr, dout.data(),
                       in.data(), w.data(), s);
  check_magnitude(d_din.host(), din, "conv2d backward din");
  check_magnitude(d_dw.host(), dw, "conv2d backward dw");
  check_magnitude(d_db.host(), db, "conv2d backward db");
  d_din.expect_guards_intact("conv2d backward din");
  d_dw.expect_guards_intact("conv2d backward dw");
  d_db.expect_guards_intact("conv2d backward db");
}

}  // namespace mlcn::test
