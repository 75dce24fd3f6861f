// CUDA vs CPU: conv2d through cuDNN (valid and Keras-"same" padding, strides 1-3, symmetric
// and asymmetric padding, pointwise, with/without bias and input gradient, CapsNet's real
// conv1 and primary-capsule shapes, grouped convolutions through cuDNN's group count against the
// CPU's per-group reference) and the handwritten depthwise kernels.
// Tolerances: tests/cuda/conv_parity.h. TF32 is off throughout.
#include <vector>

#include "conv_parity.h"
#include "kernels/conv.cuh"

using namespace mlcn;
using namespace mlcn::test;

TEST_CASE("conv2d forward and backward match the CPU twin", "[cuda][conv][cudnn]") {
  const ConvCase cases[] = {
      {"valid s1 + bias", 2, 7, 6, 3, 4, 3, 2, 1, false, true, true},
      {"valid s2", 2, 9, 8, 2, 3, 3, 3, 2, false, true, true},
      {"valid s3 (deep primary)", 2, 17, 8, 3, 5, 6, 6, 3, false, true, true},
      {"same 3x3, symmetric padding", 1, 5, 4, 3, 2, 3, 3, 1, true, true, true},
      {"same 2x2, asymmetric padding (explicit pad copy)", 2, 6, 5, 3, 4, 2, 2, 1, true, true, true},
      {"same 4x4 s2, asymmetric padding", 2, 9, 7, 2, 3, 4, 4, 2, true, true, true},
      {"same 1x1 (pointwise)", 2, 3, 4, 5, 3, 1, 1, 1, true, true, true},
      {"no bias, no input gradient", 2, 6, 5, 2, 3, 2, 3, 1, false, false, false},
      {"CapsNet conv1", 2, 28, 28, 1, 256, 9, 9, 1, false, true, false},
      {"CapsNet primary capsules", 2, 20, 20, 256, 256, 9, 9, 2, false, true, true},
      {"grouped, 3 groups, valid s2", 2, 9, 8, 6, 9, 3, 2, 2, false, true, true, 3},
      {"grouped, 2 groups, same 2x2 (explicit pad copy)", 2, 6, 5, 4, 6, 2, 2, 1, true, true, true, 2},
      {"grouped: 3 MLCN w2 primary convs as one", 3, 20, 20, 96, 192, 6, 6, 2, false, true, true, 3},
  };
  for (const ConvCase& c : cases) check_conv_parity(c);
}

TEST_CASE("conv2d chooses its algorithms once per shape", "[cuda][conv][cudnn]") {
  const ConvShape s = make_conv_shape(3, 11, 10, 4, 6, 3, 3, 1, false);
  const auto in = rand_vec(size_t(s.B * s.H * s.W * s.C), 211), w = rand_vec(size_t(s.K * 9 * s.C), 212);
  Guarded d_in(in), d_w(w), d_out(size_t(s.B * s.OH * s.OW * s.K));
  cuda().conv2d_forward(kS0, d_out.get(), d_in.get(), d_w.get(), nullptr, s);
  const size_t plans = kernels::conv_plans_cached();
  const auto first = d_out.host();
  for (int k = 0; k < 3; ++k) cuda().conv2d_forward(kS0, d_out.get(), d_in.get(), d_w.get(), nullptr, s);
  CHECK(kernels::conv_plans_cached() == plans);
  expect_close(d_out.host(), first, 0, 0, "repeated forward with the cached algorithm");
}

TEST_CASE("depthwise conv forward and backward match the CPU twin", "[cuda][conv]") {
  const ConvCase cases[] = {
      {"3x3 valid", 2, 8, 7, 3, 3, 3, 3, 1, false, false, true},
      {"2x2 same s2", 1, 5, 6, 4, 4, 2, 2, 2, true, false, true},
      {"mlcn2 6x6 valid, 16 channels", 3, 23, 23, 16, 16, 6, 6, 1, false, false, true},
      {"33 channels (not a multiple of 32), same 3x3", 2, 9, 9, 33, 33, 3, 3, 1, true, false, true},
      {"no input gradient", 2, 7, 7, 5, 5, 3, 3, 1, false, false, false},
  };
  for (const ConvCase& c : cases) {
    INFO(c.name);
    const ConvShape s = make_conv_shape(c.B, c.H, c.W, c.C, c.C, c.kh, c.kw, c.stride, c.same);
    const size_t nin = size_t(s.B * s.H * s.W * s.C), nw = size_t(s.C * s.kh * s.kw);
    const size_t nout = size_t(s.B * s.OH * s.OW * s.C);
    const auto in = rand_vec(nin, 221), w = rand_vec(nw, 222), dout = rand_vec(nout, 223);
    const auto din0 = rand_vec(nin, 224), dw0 = rand_vec(nw, 225);
    Guarded d_in(in), d_w(w), d_out(nout), d_dout(dout), d_din(din0), d_dw(dw0);
    cuda().depthwise_forward(kS0, d_out.get(), d_in.get(), d_w.get(), s);
    std::vector<float> out(nout), din = din0, dw = dw0;
    cpu::depthwise_forward(out.data(), in.data(), w.data(), s);
    check_magnitude(d_out.host(), out, "depthwise forward");
    d_out.expect_guards_intact("depthwise forward");
    cuda().depthwise_backward(kS0, c.with_din ? d_din.get() : nullptr, d_dw.get(), d_dout.get(), d_in.get(), d_w.get(), s);
    cpu::depthwise_backward(c.with_din ? din.data() : nullptr, dw.data(), dout.data(), in.data(), w.data(), s);
    check_magnitude(d_din.host(), din, "depthwise backward din");
    check_magnitude(d_dw.host(), dw, "depthwise backward dw");
    d_din.expect_guards_intact("depthwise backward din");
    d_dw.expect_guards_intact("depthwise backward dw");
  }
}
