// CUDA vs CPU: elementwise ops, bias add/backward, the fused bias + ReLU, GEMM. Sizes are
// deliberately not multiples of the block size (256) or the warp; backward outputs start from
// random values to test +=. Tolerances: ReLU, add, scale, bias add and the fused bias + ReLU are
// exact (same single rounding); sigmoid differs by the expf implementations (a few ulp: 1e-6
// absolute on (0,1)); bias_backward and GEMM sum n terms in another order: atol = 1e-6 * (number
// of terms), rtol 1e-5.
#include <vector>

#include "cuda_test_util.h"
#include "engine/cpu/elementwise.h"
#include "engine/cpu/gemm.h"
#include "engine/core/backend.h"

using namespace mlcn;
using namespace mlcn::test;

TEST_CASE("elementwise forward and backward match the CPU twins", "[cuda][elementwise]") {
  for (size_t n : {size_t(1), size_t(37), size_t(1000003)}) {
    INFO("n = " << n);
    const auto x = rand_vec(n, 11 + n, -4, 4), dout = rand_vec(n, 12 + n), din0 = rand_vec(n, 13 + n);

    Guarded dx(x), dy(n);
    cuda().relu_forward(kS0, dy.get(), dx.get(), int64_t(n));
    std::vector<float> y(n);
    cpu::relu_forward(y.data(), x.data(), int64_t(n));
    expect_close(dy.host(), y, 0, 0, "relu forward");
    dy.expect_guards_intact("relu forward");

    Guarded ddout(dout), ddin(din0);
    cuda().relu_backward(kS0, ddin.get(), ddout.get(), dy.get(), int64_t(n));
    std::vector<float> din = din0;
    cpu::relu_backward(din.data(), dout.data(), y.data(), int64_t(n));
    expect_close(ddin.host(), din, 0, 0, "relu backward");
    ddin.expect_guards_intact("relu backward");

    Guarded ds(n);
    cuda().sigmoid_forward(kS0, ds.get(), dx.get(), int64_t(n));
    std::vector<float> s(n);
    cpu::sigmoid_forward(s.data(), x.data(), int64_t(n));
    expect_close(ds.host(), s, 0, 1e-6, "sigmoid forward");
    ds.expect_guards_intact("sigmoid forward");

    // Backward from the CPU's own output, so only the backward arithmetic is compared.
    Guarded dsig(s), ddin2(din0);
    cuda().sigmoid_backward(kS0, ddin2.get(), ddout.get(), dsig.get(), int64_t(n));
    din = din0;
    cpu::sigmoid_backward(din.data(), dout.data(), s.data(), int64_t(n));
    expect_close(ddin2.host(), din, 1e-6, 1e-7, "sigmoid backward");
    ddin2.expect_guards_intact("sigmoid backward");

    Guarded dacc(din0);
    cuda().add_inplace(kS0, dacc.get(), ddout.get(), int64_t(n));
    din = din0;
    cpu::add_inplace(din.data(), dout.data(), int64_t(n));
    expect_close(dacc.host(), din, 0, 0, "add_inplace");
    dacc.expect_guards_intact("add_inplace");

    Guarded dscale(x);
    cuda().scale_inplace(kS0, dscale.get(), -0.37f, int64_t(n));
    std::vector<float> xs = x;
    for (auto& v : xs) v *= -0.37f;
    expect_close(dscale.host(), xs, 0, 0, "scale_inplace");
    dscale.expect_guards_intact("scale_inplace");
  }
}

TEST_CASE("bias add and bias backward match the CPU loops", "[cuda][elementwise]") {
  struct Case {
    int64_t rows, cols;
  };
  // Aligned arrays with a multiple of 4 columns take the float4 kernel, the rest the scalar one.
  for (bool aligned : {false, true})
  for (Case c : {Case{1, 1}, Case{3, 10}, Case{100, 1024}, Case{40000 + 7, 37}, Case{5, 300}, Case{7, 4}}) {
    INFO("rows " << c.rows << " cols " << c.cols << (aligned ? ", 16-byte aligned" : ", 4-byte aligned"));
    const size_t n = size_t(c.rows * c.cols);
    const auto out0 = rand_vec(n, 21), b = rand_vec(size_t(c.cols), 22), db0 = rand_vec(size_t(c.cols), 23);
    Guarded dout(out0, aligned), dbias(b, aligned), ddb(db0);
    cuda().bias_add(kS0, dout.get(), dbias.get(), c.rows, c.cols);
    std::vector<float> out = out0, db = db0;
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t k = 0; k < c.cols; ++k) out[size_t(r * c.cols + k)] += b[size_t(k)];
    expect_close(dout.host(), out, 0, 0, "bias_add");
    dout.expect_guards_intact("bias_add");

    Guarded dgrad(out0);
    cuda().bias_backward(kS0, ddb.get(), dgrad.get(), c.rows, c.cols);
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t k = 0; k < c.cols; ++k) db[size_t(k)] += out0[size_t(r * c.cols + k)];
    expect_close(ddb.host(), db, 1e-5, 1e-6 * double(c.rows), "bias_backward");
    ddb.expect_guards_intact("bias_backward");
  }
}

TEST_CASE("fused bias + ReLU forward and backward match the CPU twins", "[cuda][elementwise]") {
  struct Case {
    int64_t rows, cols;
  };
  // Aligned arrays with a multiple of 4 columns take the float4 forward, the rest the scalar one
  // (NaN and Inf: test_nonfinite.cpp).
  for (bool aligned : {false, true})
  for (bool bias : {true, false})
  for (Case c : {Case{1, 1}, Case{3, 10}, Case{100, 256}, Case{9000 + 7, 37}, Case{7, 4}}) {
    INFO("rows " << c.rows << " cols " << c.cols << (aligned ? ", 16-byte aligned" : ", 4-byte aligned")
                 << (bias ? "" : ", no bias"));
    const size_t n = size_t(c.rows * c.cols);
    const auto pre = rand_vec(n, 31);
    const auto b = rand_vec(size_t(c.cols), 32), dout = rand_vec(n, 33), db0 = rand_vec(size_t(c.cols), 34);
    Guarded dy(pre, aligned), dbias(b, aligned);
    cuda().bias_relu_forward(kS0, dy.get(), bias ? dbias.get() : nullptr, c.rows, c.cols);
    std::vector<float> y = pre;
    cpu::bias_relu_forward(y.data(), bias ? b.data() : nullptr, c.rows, c.cols);
    expect_close(dy.host(), y, 0, 0, "bias_relu_forward");
    dy.expect_guards_intact("bias_relu_forward");

    Guarded ddout(dout), ddpre(n), ddb(db0);
    cuda().relu_bias_backward(kS0, ddpre.get(), bias ? ddb.get() : nullptr, ddout.get(), dy.get(), c.rows, c.cols);
    std::vector<float> dpre(n), db = db0;
    cpu::relu_bias_backward(dpre.data(), bias ? db.data() : nullptr, dout.data(), y.data(), c.rows, c.cols);
    expect_close(ddpre.host(), dpre, 0, 0, "relu_bias_backward dpre");
    ddpre.expect_guards_intact("relu_bias_backward dpre");
    // The column sums run through the bias backward's reduction: as bias_backward's tolerance.
    expect_close(ddb.host(), db, 1e-5, 1e-6 * double(c.rows), "relu_bias_backward db");
    ddb.expect_guards_intact("relu_bias_backward db");
  }
}

TEST_CASE("gemm matches the CPU GEMM for every transpose and beta", "[cuda][gemm]") {
  const int64_t M = 37, N = 53, K = 29;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (float beta : {0.f, 1.f}) {
        INFO("ta " << ta << " tb " << tb << " beta " << beta);
        const auto A = rand_vec(size_t(M * K), 31), B = rand_vec(size_t(K * N), 32), C0 = rand_vec(size_t(M * N), 33);
        Guarded dA(A), dB(B), dC(C0);
        cuda().gemm(kS0, ta, tb, M, N, K, dA.get(), dB.get(), beta, dC.get());
        std::vector<float> C = C0;
        cpu::gemm<float>(ta, tb, M, N, K, A.data(), B.data(), beta, C.data());
        expect_close(dC.host(), C, 1e-5, 1e-6 * K, "gemm");
        dC.expect_guards_intact("gemm");
      }
  SECTION("K = 0 gives zeros (beta 0) or leaves C (beta 1)") {
    const auto C0 = rand_vec(size_t(M * N), 34);
    Guarded dC(C0);
    cuda().gemm(kS0, false, false, M, N, 0, nullptr, nullptr, 1.f, dC.get());
    expect_close(dC.host(), C0, 0, 0, "gemm K=0 beta=1");
    cuda().gemm(kS0, false, false, M, N, 0, nullptr, nullptr, 0.f, dC.get());
    expect_close(dC.host(), std::vector<float>(C0.size(), 0.f), 0, 0, "gemm K=0 beta=0");
    dC.expect_guards_intact("gemm K=0");
  }
  SECTION("TF32 is off by default and the switch changes only precision") {
    REQUIRE_FALSE(cuda().allow_tf32());
    const int64_t n = 256;
    const auto A = rand_vec(size_t(n * n), 35), B = rand_vec(size_t(n * n), 36);
    Guarded dA(A), dB(B), dC(size_t(n * n));
    std::vector<float> C(size_t(n * n));
    cpu::gemm<float>(false, false, n, n, n, A.data(), B.data(), 0.f, C.data());
    cuda().set_allow_tf32(true);
    cuda().gemm(kS0, false, false, n, n, n, dA.get(), dB.get(), 0.f, dC.get());
    cuda().set_allow_tf32(false);
    // TF32 keeps 10 mantissa bits: products err by ~1e-3 relative, sums of 256 such terms ~5e-2.
    expect_close(dC.host(), C, 1e-2, 5e-2, "gemm with TF32");
  }
}
