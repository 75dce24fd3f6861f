// CUDA vs CPU: squash, the prediction transform (CapsNet and MLCN J = 1 shapes, and a shape
// that takes the global-memory fallback; handwritten and cuBLAS variants), length, mask, lane dropout scaling and lane
// concatenation. Inputs are seeded random values; squash also gets zero and near-zero capsules.
// Tolerances (float32; the CPU sums sequentially, the GPU in other orders or with FMA):
//   squash: rtol 1e-5, atol 1e-6 (norms of <= 37 terms; the factor's formula is the same);
//   predict forward: atol 1e-6 * Din; dW: atol 1e-6 * B, du: atol 1e-6 * R (terms of size <= 1);
//   length: rtol 1e-6; mask, lane_scale, concat: exact (copies and one multiply).
#include <vector>

#include "cuda_test_util.h"
#include "engine/cpu/capsule.h"
#include "engine/core/backend.h"

using namespace mlcn;
using namespace mlcn::test;

TEST_CASE("squash forward and backward match the CPU twin", "[cuda][capsule]") {
  for (int64_t D : {1, 8, 10, 16, 37}) {
    const int64_t rows = 1003;
    INFO("D = " << D);
    auto s = rand_vec(size_t(rows * D), 41 + D, -2, 2);
    for (int64_t d = 0; d < D; ++d) s[size_t(5 * D + d)] = 0.f, s[size_t(9 * D + d)] = 1e-4f;  // zero, near-zero
    const auto dv = rand_vec(s.size(), 42), ds0 = rand_vec(s.size(), 43);
    Guarded d_s(s), d_v(s.size()), d_dv(dv), d_ds(ds0);
    cuda().squash_forward(kS0, d_v.get(), d_s.get(), rows, D);
    std::vector<float> v(s.size()), ds = ds0;
    cpu::squash_forward(v.data(), s.data(), rows, D);
    expect_close(d_v.host(), v, 1e-5, 1e-6, "squash forward");
    d_v.expect_guards_intact("squash forward");
    cuda().squash_backward(kS0, d_ds.get(), d_dv.get(), d_s.get(), rows, D);
    cpu::squash_backward(ds.data(), dv.data(), s.data(), rows, D);
    expect_close(d_ds.host(), ds, 1e-5, 1e-5, "squash backward");
    d_ds.expect_guards_intact("squash backward");
  }
}

TEST_CASE("predict forward and backward match the CPU twin", "[cuda][capsule]") {
  struct Case {
    const char* name;
    int64_t B, N, J, Dout, Din;
    bool with_du;
  };
  const Case cases[] = {
      {"CapsNet shape, N not a round number", 3, 37, 10, 16, 8, true},
      {"CapsNet full N", 2, 1152, 10, 16, 8, true},
      {"MLCN J=1", 5, 29, 1, 10, 16, true},
      {"batch larger than a backward chunk", 70, 3, 2, 5, 3, true},
      {"W_i too large for shared memory (global kernels)", 3, 4, 80, 16, 12, true},
      {"no du", 4, 9, 3, 4, 5, false},
  };
  // Each case through both variants: the handwritten kernels (Auto) and cuBLAS strided-batched GEMMs.
  for (auto var : {kernels::PredictVariant::Auto, kernels::PredictVariant::Blas})
  for (const Case& c : cases) {
    INFO(c.name << (var == kernels::PredictVariant::Blas ? ", cuBLAS variant" : ""));
    cuda().set_predict_variant(var);
    const int64_t R = c.J * c.Dout;
    const auto u = rand_vec(size_t(c.B * c.N * c.Din), 51), W = rand_vec(size_t(c.N * R * c.Din), 52);
    const auto g = rand_vec(size_t(c.B * c.N * R), 53), du0 = rand_vec(u.size(), 54), dW0 = rand_vec(W.size(), 55);
    Guarded d_u(u), d_W(W), d_uh(size_t(c.B * c.N * R)), d_g(g), d_du(du0), d_dW(dW0);
    cuda().predict_forward(kS0, d_uh.get(), d_u.get(), d_W.get(), c.B, c.N, c.J, c.Dout, c.Din);
    std::vector<float> uh(g.size()), du = du0, dW = dW0;
    cpu::predict_forward(uh.data(), u.data(), W.data(), c.B, c.N, c.J, c.Dout, c.Din);
    expect_close(d_uh.host(), uh, 1e-5, 1e-6 * double(c.Din), "predict forward");
    d_uh.expect_guards_intact("predict forward");
    cuda().predict_backward(kS0, c.with_du ? d_du.get() : nullptr, d_dW.get(), d_g.get(), d_u.get(), d_W.get(), c.B, c.N,
                           c.J, c.Dout, c.Din);
    cpu::predict_backward(c.with_du ? du.data() : nullptr, dW.data(), g.data(), u.data(), W.data(), c.B, c.N, c.J,
                          c.Dout, c.Din);
    expect_close(d_dW.host(), dW, 1e-5, 1e-6 * double(c.B), "predict backward dW");
    expect_close(d_du.host(), du, 1e-5, 1e-6 * double(R), "predict backward du");
    d_dW.expect_guards_intact("predict backward dW");
    d_du.expect_guards_intact("predict backward du");
  }
  cuda().set_predict_variant(kernels::PredictVariant::Auto);
}

TEST_CASE("length forward and backward match the CPU twin", "[cuda][capsule]") {
  const int64_t rows = 1001, D = 16;
  auto v = rand_vec(size_t(rows * D), 61);
  for (int64_t d = 0; d < D; ++d) v[size_t(7 * D + d)] = 0.f;
  const auto dy = rand_vec(size_t(rows), 62), dv0 = rand_vec(v.size(), 63);
  Guarded d_v(v), d_y(static_cast<size_t>(rows)), d_dy(dy), d_dv(dv0);
  cuda().length_forward(kS0, d_y.get(), d_v.get(), rows, D);
  std::vector<float> y(static_cast<size_t>(rows)), dv = dv0;
  cpu::length_forward(y.data(), v.data(), rows, D);
  expect_close(d_y.host(), y, 1e-6, 1e-7, "length forward");
  d_y.expect_guards_intact("length forward");
  Guarded d_yc(y);  // the backward from the CPU's lengths: only the backward is compared
  cuda().length_backward(kS0, d_dv.get(), d_dy.get(), d_v.get(), d_yc.get(), rows, D);
  cpu::length_backward(dv.data(), dy.data(), v.data(), y.data(), rows, D);
  expect_close(d_dv.host(), dv, 1e-6, 1e-6, "length backward");
  d_dv.expect_guards_intact("length backward");
}

TEST_CASE("mask forward and backward match the CPU twin (device selections)", "[cuda][capsule]") {
  const int64_t B = 67, J = 10, D = 16;
  std::vector<int32_t> sel(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) sel[size_t(b)] = int32_t((b * 7 + 3) % J);
  const auto v = rand_vec(size_t(B * J * D), 71), dout = rand_vec(v.size(), 72), dv0 = rand_vec(v.size(), 73);
  Guarded d_v(v), d_out(v.size()), d_dout(dout), d_dv(dv0);
  DeviceArray<int32_t> d_sel(sel);
  cuda().mask_forward(kS0, d_out.get(), d_v.get(), d_sel.get(), B, J, D);
  std::vector<float> out(v.size()), dv = dv0;
  cpu::mask_forward(out.data(), v.data(), sel.data(), B, J, D);
  expect_close(d_out.host(), out, 0, 0, "mask forward");
  d_out.expect_guards_intact("mask forward");
  cuda().mask_backward(kS0, d_dv.get(), d_dout.get(), d_sel.get(), B, J, D);
  cpu::mask_backward(dv.data(), dout.data(), sel.data(), B, J, D);
  expect_close(d_dv.host(), dv, 0, 0, "mask backward");
  d_dv.expect_guards_intact("mask backward");
}

TEST_CASE("lane_scale matches the CPU twin (device scales)", "[cuda][capsule]") {
  const int64_t B = 33, J = 10, L = 5;
  const std::vector<float> scale{2.f, 0.f, 2.f, 2.f, 0.f};
  const auto in = rand_vec(size_t(B * J * L), 81);
  Guarded d_in(in), d_out(in.size());
  DeviceArray<float> d_scale(scale);
  cuda().lane_scale(kS0, d_out.get(), d_in.get(), d_scale.get(), B, J, L);
  std::vector<float> out(in.size());
  cpu::lane_scale(out.data(), in.data(), scale.data(), B, J, L);
  expect_close(d_out.host(), out, 0, 0, "lane_scale");
  d_out.expect_guards_intact("lane_scale");
}

TEST_CASE("concat_copy writes a part into the whole and accumulates the part's gradient", "[cuda][capsule]") {
  const int64_t rows = 301, D = 3, Dt = 7, off = 2;
  const auto part = rand_vec(size_t(rows * D), 91), whole0 = rand_vec(size_t(rows * Dt), 92);
  const auto gpart0 = rand_vec(part.size(), 93);
  Guarded d_part(part), d_whole(whole0), d_gpart(gpart0);
  cuda().concat_copy(kS0, d_whole.get(), d_part.get(), rows, D, Dt, off, true);
  std::vector<float> whole = whole0, gpart = gpart0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < D; ++d) whole[size_t(r * Dt + off + d)] = part[size_t(r * D + d)];
  expect_close(d_whole.host(), whole, 0, 0, "concat into the whole (other columns untouched)");
  d_whole.expect_guards_intact("concat into the whole");
  cuda().concat_copy(kS0, d_gpart.get(), d_whole.get(), rows, D, Dt, off, false);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < D; ++d) gpart[size_t(r * D + d)] += whole[size_t(r * Dt + off + d)];
  expect_close(d_gpart.host(), gpart, 0, 0, "concat gradient into the part");
  d_gpart.expect_guards_intact("concat gradient into the part");
}
