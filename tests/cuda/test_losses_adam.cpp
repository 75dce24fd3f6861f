// CUDA vs CPU: margin and MSE losses (labels, values and upstream gradients in device memory,
// moved by the helpers of cuda_test_util.h) and the Adam update, single-tensor and multi-tensor.
// Tolerances: loss values are n-term float sums in another order. Against a float64 sum the GPU
// value must be within rtol 1e-5; against the CPU twin within 2e-4, because the CPU's running
// float sum itself drifts by ~1e-5 relative at a million terms. The loss
// backwards and Adam are elementwise with the same formulas: rtol 1e-6, atol 1e-7 (FMA
// contraction and sqrtf/division are correctly rounded on both sides).
#include <memory>
#include <vector>

#include "cuda_test_util.h"
#include "engine/cpu/adam.h"
#include "engine/cpu/loss.h"
#include "engine/core/backend.h"

using namespace mlcn;
using namespace mlcn::test;

TEST_CASE("margin loss forward and backward match the CPU twin", "[cuda][loss]") {
  for (int64_t B : {1, 100, 1037}) {
    const int64_t J = 10;
    INFO("B = " << B);
    std::vector<int32_t> labels(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) labels[size_t(b)] = int32_t((b * 3 + 1) % J);
    const auto y = rand_vec(size_t(B * J), 141, 0.0, 1.0), dy0 = rand_vec(y.size(), 142);
    Guarded d_y(y), d_dy(dy0);
    const float gpu = margin_forward_from_host(d_y.get(), labels, B, J);
    const float cpu = cpu::margin_forward(y.data(), labels.data(), B, J);
    CHECK(gpu == Approx(cpu).epsilon(1e-5));
    margin_backward_from_host(d_dy.get(), 0.75f, d_y.get(), labels, B, J);
    std::vector<float> dy = dy0;
    cpu::margin_backward(dy.data(), 0.75f, y.data(), labels.data(), B, J);
    expect_close(d_dy.host(), dy, 1e-6, 1e-7, "margin backward");
    d_dy.expect_guards_intact("margin backward");
  }
}

TEST_CASE("MSE loss forward and backward match the CPU twin", "[cuda][loss]") {
  for (int64_t n : {1, 784 * 3 + 5, 100 * 784, 1 << 20}) {
    INFO("n = " << n);
    const auto a = rand_vec(size_t(n), 151, 0.0, 1.0), t = rand_vec(size_t(n), 152, 0.0, 1.0);
    const auto da0 = rand_vec(size_t(n), 153);
    Guarded d_a(a), d_t(t), d_da(da0);
    const float gpu = mse_forward_from_host(d_a.get(), d_t.get(), n);
    const float cpu = cpu::mse_forward(a.data(), t.data(), n);
    double exact = 0;
    for (int64_t i = 0; i < n; ++i) exact += (double(a[size_t(i)]) - t[size_t(i)]) * (double(a[size_t(i)]) - t[size_t(i)]);
    exact /= double(n);
    // Against the exact sum only: at n = 2^20 the CPU twin's float sum (two long sequential runs)
    // is itself off by about 2e-4, more than the GPU's tree of short sums.
    CHECK(gpu == Approx(exact).epsilon(1e-5));
    CHECK(cpu == Approx(exact).epsilon(1e-3));
    mse_backward_from_host(d_da.get(), 0.392f, d_a.get(), d_t.get(), n);
    std::vector<float> da = da0;
    cpu::mse_backward(da.data(), 0.392f, a.data(), t.data(), n);
    expect_close(d_da.host(), da, 1e-6, 1e-7, "mse backward");
    d_da.expect_guards_intact("mse backward");
  }
}

namespace {
// n floats of device memory on GPU 0, read after the work queued on kS0.
std::vector<float> device_floats(const float* d, int64_t n) {
  std::vector<float> h(static_cast<size_t>(n));
  cuda().copy(kS0, h.data(), -1, d, 0, h.size() * sizeof(float));
  return h;
}
}  // namespace

TEST_CASE("Adam update matches the CPU twin, single and multi-tensor, with weight decay", "[cuda][adam]") {
  const double lr_t = 1e-3 * 0.97, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  const double keep = 1 - 1e-3 * 0.05;  // AdamW: lr 1e-3, weight decay 0.05
  const std::vector<int64_t> sizes{1, 255, 257, 4096 + 3, 130001};
  std::vector<std::vector<float>> p, g, m, v;
  for (size_t k = 0; k < sizes.size(); ++k) {
    const size_t n = size_t(sizes[k]);
    p.push_back(rand_vec(n, 160 + k));
    g.push_back(rand_vec(n, 170 + k));
    m.push_back(rand_vec(n, 180 + k, -0.1, 0.1));
    v.push_back(rand_vec(n, 190 + k, 0.0, 0.01));
  }
  auto cpu_step = [&](size_t k) {
    std::vector<float> pp = p[k], mm = m[k], vv = v[k];
    cpu::adam_update(pp.data(), g[k].data(), mm.data(), vv.data(), sizes[k], lr_t, b1, b2, eps, keep);
    return std::vector<std::vector<float>>{pp, mm, vv};
  };
  SECTION("one tensor at a time") {
    for (size_t k = 0; k < sizes.size(); ++k) {
      Guarded dp(p[k]), dg(g[k]), dm(m[k]), dv(v[k]);
      cuda().adam_update(kS0, dp.get(), dg.get(), dm.get(), dv.get(), sizes[k], lr_t, b1, b2, eps, keep);
      const auto ref = cpu_step(k);
      expect_close(dp.host(), ref[0], 1e-6, 1e-7, "adam p");
      expect_close(dm.host(), ref[1], 1e-6, 1e-7, "adam m");
      expect_close(dv.host(), ref[2], 1e-6, 1e-9, "adam v");
      dp.expect_guards_intact("adam p");
      dm.expect_guards_intact("adam m");
      dv.expect_guards_intact("adam v");
    }
  }
  SECTION("all tensors in one launch, more than one table of slices") {
    std::vector<std::unique_ptr<Guarded>> dp, dg, dm, dv;
    std::vector<AdamSlice> slices;
    for (int rep = 0; rep < 15; ++rep)  // 75 slices: two launches of at most 64
      for (size_t k = 0; k < sizes.size(); ++k) {
        dp.push_back(std::make_unique<Guarded>(p[k]));
        dg.push_back(std::make_unique<Guarded>(g[k]));
        dm.push_back(std::make_unique<Guarded>(m[k]));
        dv.push_back(std::make_unique<Guarded>(v[k]));
        slices.push_back({dp.back()->get(), dg.back()->get(), dm.back()->get(), dv.back()->get(), sizes[k]});
      }
    Guarded rate(std::vector<float>{float(lr_t), float(keep)});  // the step size and decay live on the device
    cuda().adam_update_many(kS0, slices.data(), int(slices.size()), rate.get(), b1, b2, eps);
    for (size_t i = 0; i < slices.size(); ++i) {
      const auto ref = cpu_step(i % sizes.size());
      expect_close(dp[i]->host(), ref[0], 1e-6, 1e-7, "adam_many p");
      expect_close(dm[i]->host(), ref[1], 1e-6, 1e-7, "adam_many m");
      expect_close(dv[i]->host(), ref[2], 1e-6, 1e-9, "adam_many v");
      expect_close(dg[i]->host(), std::vector<float>(size_t(slices[i].n), 0.f), 0, 0, "adam_many zeroes g");
      dp[i]->expect_guards_intact("adam_many p");
      dg[i]->expect_guards_intact("adam_many g");
    }
  }
  SECTION("16-byte aligned tensors (the float4 path) and tensors one float off (the scalar path)") {
    // Guarded arrays start 67 floats into their allocation, so the section above is all scalar.
    const std::vector<int64_t> lens{1, 3, 4, 1023, 1024, 1025, 4096 + 3};
    for (int64_t offset : {0, 1}) {
      std::vector<float*> bufs;
      std::vector<AdamSlice> slices;
      std::vector<std::vector<float>> want_p, want_m, want_v;
      for (size_t k = 0; k < lens.size(); ++k) {
        const int64_t n = lens[k];
        const auto hp = rand_vec(size_t(n), 400 + k), hg = rand_vec(size_t(n), 410 + k);
        const auto hm = rand_vec(size_t(n), 420 + k, -0.1, 0.1), hv = rand_vec(size_t(n), 430 + k, 0.0, 0.01);
        float* arr[4];
        const std::vector<float>* init[4] = {&hp, &hg, &hm, &hv};
        for (int a = 0; a < 4; ++a) {
          bufs.push_back(static_cast<float*>(cuda().alloc(kS0, size_t(n + offset) * sizeof(float))));
          arr[a] = bufs.back() + offset;
          cuda().copy(kS0, arr[a], 0, init[a]->data(), -1, size_t(n) * sizeof(float));
        }
        slices.push_back({arr[0], arr[1], arr[2], arr[3], n});
        std::vector<float> pp = hp, mm = hm, vv = hv;
        cpu::adam_update(pp.data(), hg.data(), mm.data(), vv.data(), n, lr_t, b1, b2, eps, keep);
        want_p.push_back(pp), want_m.push_back(mm), want_v.push_back(vv);
      }
      Guarded rate(std::vector<float>{float(lr_t), float(keep)});
      cuda().adam_update_many(kS0, slices.data(), int(slices.size()), rate.get(), b1, b2, eps);
      for (size_t k = 0; k < slices.size(); ++k) {
        INFO("n " << slices[k].n << ", offset " << offset << " floats");
        const int64_t n = slices[k].n;
        expect_close(device_floats(slices[k].p, n), want_p[k], 1e-6, 1e-7, "adam_many p");
        expect_close(device_floats(slices[k].m, n), want_m[k], 1e-6, 1e-7, "adam_many m");
        expect_close(device_floats(slices[k].v, n), want_v[k], 1e-6, 1e-9, "adam_many v");
        expect_close(device_floats(slices[k].g, n), std::vector<float>(size_t(n), 0.f), 0, 0, "adam_many zeroes g");
      }
      for (float* b : bufs) cuda().release(b);
    }
  }
}
