// Microbenchmark of the capsule kernels at the real models' sizes (batch 100): CapsNet
// (u (B,1152,8), W (1152,10,16,8), 3 routing iterations) and the capsule layer of an MLCN lane
// mlcn1 w=1..5 (N = 128 w capsules of 16 D, 10 classes), plus CapsNet's primary-capsule
// convolution (95% of its FLOPs) forward, dgrad and wgrad in fp32 and TF32, and the primary
// conv of 2 and 8 MLCN w4 lanes run separately against one grouped convolution, and the bias +
// ReLU after CapsNet's first conv, separate against fused.
// Each row: median of --reps launches (CUDA events around the launch alone, after --warmup
// launches), with L2 flushed before every launch unless --warm-l2; GB/s from the bytes the
// implementation moves (a model written next to each row), GFLOP/s from its arithmetic, and
// the fraction of the measured device-to-device copy bandwidth (read + write bytes / time of a
// 512 MiB cudaMemcpy). The forward rows are first checked against the CPU twins ("check").
// The "op" rows come from the op table (tests/op_cases.h): each entry with bench shapes, run
// through the engine's ops on the bench stream, forward alone and forward + backward, with the
// entry's FLOP and byte counts (backward counted as twice the forward).
//   bench_kernels [--reps 50] [--warmup 5] [--warm-l2] [--csv file]
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_cli.h"  // defines: handle_help
#include "base/rng.h"
#include "engine/cpu/capsule.h"
#include "kernels/conv.cuh"
#include "kernels/elementwise.cuh"
#include "engine/core/autograd.h"
#include "engine/core/backend.h"
#include "kernels/gemm.cuh"
#include "kernels/predict.cuh"
#include "kernels/routing.cuh"
#include "kernels/squash.cuh"
#include "op_cases.h"

namespace {

using namespace mlcn;

void ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "bench_kernels: %s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

struct Options {
  int reps = 50, warmup = 5;
  bool flush = true;
  std::string csv;
};

// A device array filled with seeded uniform values in [lo, hi).
struct Buf {
  float* p = nullptr;
  size_t n = 0;
  Buf(size_t count, uint64_t seed, double lo = -1, double hi = 1) : n(count) {
    ok(cudaMalloc(&p, n * 4), "cudaMalloc");
    std::vector<float> h = host_random(seed, lo, hi);
    ok(cudaMemcpy(p, h.data(), n * 4, cudaMemcpyHostToDevice), "upload");
  }
  ~Buf() { cudaFree(p); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  std::vector<float> host_random(uint64_t seed, double lo, double hi) const {
    Rng r(seed);
    std::vector<float> h(n);
    for (auto& x : h) x = float(r.uniform(lo, hi));
    return h;
  }
  std::vector<float> download() const {
    std::vector<float> h(n);
    ok(cudaMemcpy(h.data(), p, n * 4, cudaMemcpyDeviceToHost), "download");
    return h;
  }
};

struct Row {
  std::string kernel, shape, check;
  double us = 0, bytes = 0, flops = 0;
};

class Bench {
 public:
  explicit Bench(const Options& o) : opt_(o) {
    ok(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "stream");
    ok(cudaEventCreate(&start_), "event");
    ok(cudaEventCreate(&stop_), "event");
    int l2 = 0;
    ok(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0), "L2 size");
    flush_bytes_ = size_t(std::max(l2, 1 << 20)) * 2;
    ok(cudaMalloc(&flush_, flush_bytes_), "flush buffer");
  }
  ~Bench() {
    cudaFree(flush_);
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
    cudaStreamDestroy(s_);
  }
  cudaStream_t stream() const { return s_; }

  double median_us(const std::function<void()>& launch) {
    for (int k = 0; k < opt_.warmup; ++k) launch();
    std::vector<float> ms;
    for (int k = 0; k < opt_.reps; ++k) {
      if (opt_.flush) ok(cudaMemsetAsync(flush_, k & 0xff, flush_bytes_, s_), "flush");
      ok(cudaEventRecord(start_, s_), "record");
      launch();
      ok(cudaEventRecord(stop_, s_), "record");
      ok(cudaEventSynchronize(stop_), "sync");
      float t = 0;
      ok(cudaEventElapsedTime(&t, start_, stop_), "elapsed");
      ms.push_back(t);
    }
    ok(cudaGetLastError(), "kernel");
    std::sort(ms.begin(), ms.end());
    return 1000.0 * ms[ms.size() / 2];
  }

  // Read + write bandwidth of a 512 MiB device-to-device copy, bytes/s.
  double copy_bandwidth() {
    const size_t bytes = size_t(512) << 20;
    void *a = nullptr, *b = nullptr;
    ok(cudaMalloc(&a, bytes), "copy src");
    ok(cudaMalloc(&b, bytes), "copy dst");
    const double us = median_us([&] { ok(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s_), "copy"); });
    cudaFree(a);
    cudaFree(b);
    return 2.0 * double(bytes) / (us * 1e-6);
  }

  void add(const std::string& kernel, const std::string& shape, double bytes, double flops,
           const std::function<void()>& launch, const std::string& check = "") {
    Row r{kernel, shape, check, median_us(launch), bytes, flops};
    rows_.push_back(r);
  }
  const std::vector<Row>& rows() const { return rows_; }

 private:
  Options opt_;
  cudaStream_t s_ = nullptr;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  void* flush_ = nullptr;
  size_t flush_bytes_ = 0;
  std::vector<Row> rows_;
};

// Max |a - b| <= 1e-3 * max |b|, no NaN (a sanity check; test_cuda holds the real tolerances).
std::string compare(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0, mag = 0;
  bool finite = a.size() == b.size();
  for (size_t i = 0; i < a.size() && finite; ++i) {
    finite = std::isfinite(a[i]) && std::isfinite(b[i]);
    err = std::max(err, double(std::fabs(a[i] - b[i])));
    mag = std::max(mag, double(std::fabs(b[i])));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %.1e", finite && err <= 1e-3 * mag ? "ok" : "MISMATCH", err / (mag > 0 ? mag : 1));
  return buf;
}

std::string dims(std::initializer_list<int64_t> d) {
  std::string s;
  for (int64_t x : d) s += (s.empty() ? "" : "x") + std::to_string(x);
  return s;
}

// The capsule layer of one model: squash of the primary capsules, predict, routing, and (J = 1)
// the fast GEMM form. f = 4 bytes per float throughout.
void capsule_layer(Bench& bench, const std::string& tag, int64_t B, int64_t N, int64_t J, int64_t Dout, int64_t Din,
                   int iters, bool validate) {
  const int64_t R = J * Dout;
  const double f = 4, nu = double(B * N * Din), nuh = double(B * N * R), nW = double(N * R * Din);
  const double nv = double(B * J * Dout);
  cudaStream_t s = bench.stream();
  Buf u(size_t(nu), 1, -0.5, 0.5), W(size_t(nW), 2, -0.1, 0.1), uh(size_t(nuh), 3, -0.3, 0.3);
  Buf du(size_t(nu), 4), dW(size_t(nW), 5), duh(size_t(nuh), 6), v(size_t(nv), 7), dv(size_t(nv), 8), su(size_t(nu), 9);
  const std::string lay = dims({B, N, J, Dout, Din});

  std::string chk;
  if (validate) {
    kernels::squash_forward_cuda(su.p, u.p, B * N, Din, s);
    ok(cudaStreamSynchronize(s), "squash");
    std::vector<float> ref(static_cast<size_t>(nu)), hu = u.download();
    cpu::squash_forward(ref.data(), hu.data(), B * N, Din);
    chk = compare(su.download(), ref);
  }
  bench.add(
      tag + " squash fwd (primary)", dims({B * N, Din}), 2 * nu * f, 12 * nu,
      [&] { kernels::squash_forward_cuda(su.p, u.p, B * N, Din, s); }, chk);
  bench.add(tag + " squash bwd (primary)", dims({B * N, Din}), 4 * nu * f, 16 * nu,
            [&] { kernels::squash_backward_cuda(du.p, su.p, u.p, B * N, Din, s); });

  // Both variants of the prediction transform (kernels/api.h, PredictVariant): the handwritten
  // shared-memory kernels and cuBLAS strided-batched GEMMs over the capsules.
  for (auto var : {kernels::PredictVariant::Shared, kernels::PredictVariant::Blas}) {
    const std::string name = var == kernels::PredictVariant::Blas ? " (blas)" : "";
    if (validate) {
      kernels::predict_forward_cuda(uh.p, u.p, W.p, B, N, J, Dout, Din, var, s);
      ok(cudaStreamSynchronize(s), "predict");
      std::vector<float> ref(static_cast<size_t>(nuh)), hu = u.download(), hW = W.download();
      cpu::predict_forward(ref.data(), hu.data(), hW.data(), B, N, J, Dout, Din);
      chk = compare(uh.download(), ref);
    }
    bench.add(
        tag + " predict fwd" + name, lay, (nuh + nu + nW) * f, 2 * nuh * double(Din),
        [&] { kernels::predict_forward_cuda(uh.p, u.p, W.p, B, N, J, Dout, Din, var, s); }, chk);
    bench.add(tag + " predict bwd (du, dW)" + name, lay, (nuh + 3 * nu + 3 * nW) * f, 4 * nuh * double(Din),
              [&] { kernels::predict_backward_cuda(du.p, dW.p, duh.p, u.p, W.p, B, N, J, Dout, Din, var, s); });
  }

  // Routing traffic model (routing_fused.cu): every stage that touches uhat reads it once. The
  // forward makes 2r - 1 passes (r weighted sums, r - 1 logit updates); the full backward
  // recomputes those, then makes r - 1 weighted sums, r - 1 dot products and r read-writes of
  // duhat: 6r - 3 uhat-sized transfers in all.
  const double fwd_passes = 2.0 * iters - 1, bwd_passes = fwd_passes + 2.0 * iters - 2 + 2.0 * iters;
  std::vector<float> vref;
  if (validate) {
    std::vector<float> huh = uh.download();
    vref.resize(size_t(nv));
    cpu::routing_forward(vref.data(), huh.data(), B, N, J, Dout, iters, true);
  }
  auto route_check = [&](kernels::RoutingVariant var, bool fast) {
    if (!validate) return std::string();
    kernels::routing_forward_cuda(v.p, uh.p, B, N, J, Dout, iters, fast, var, s);
    ok(cudaStreamSynchronize(s), "routing");
    return compare(v.download(), vref);
  };
  const double rflops = 2 * nuh * (2.0 * iters - 1);
  if (J == 1) {
    bench.add(
        tag + " routing J=1 fast fwd", lay, (nuh + nv) * f, 2 * nuh,
        [&] { kernels::routing_forward_cuda(v.p, uh.p, B, N, J, Dout, iters, true, kernels::RoutingVariant::Auto, s); },
        route_check(kernels::RoutingVariant::Auto, true));
    bench.add(tag + " routing J=1 fast bwd", lay, (3 * nuh + nv) * f, 3 * nuh, [&] {
      kernels::routing_backward_cuda(duh.p, dv.p, uh.p, B, N, J, Dout, iters, false, true,
                                     kernels::RoutingVariant::Auto, s);
    });
    // The GEMM form the MLCN lane uses with fast_caps: s (B, J*Dout) = u (B, N*Din) . W (N*Din, J*Dout).
    bench.add(tag + " caps GEMM fwd (fast_caps)", dims({B, N * Din, R}), (nu + nW + double(B * R)) * f,
              2 * nu * double(R), [&] { kernels::gemm_cuda(false, false, B, R, N * Din, u.p, W.p, 0.f, v.p, s); });
    bench.add(tag + " caps GEMM bwd (dW, du)", dims({B, N * Din, R}), (2 * nu + 2 * nW + double(B * R)) * f,
              4 * nu * double(R), [&] {
                kernels::gemm_cuda(true, false, N * Din, R, B, u.p, dv.p, 1.f, dW.p, s);
                kernels::gemm_cuda(false, true, B, N * Din, R, dv.p, W.p, 1.f, du.p, s);
              });
    return;
  }
  // OnePass reads uhat once per iteration in the forward (r passes); its backward is Fused's.
  // Cluster (P blocks per image, sm_90) is timed only where the device launches it; where its
  // blocks stage their uhat rows in shared memory it reads uhat once per kernel (forward: 1
  // pass; backward: 1 read and r read-writes of duhat).
  const int P = kernels::routing_cluster_size(B, N);
  const bool cluster = kernels::routing_cluster_fits(N, J, Dout, iters, P, false) &&
                       kernels::routing_cluster_fits(N, J, Dout, iters, P, true);
  for (auto var : {kernels::RoutingVariant::Fused, kernels::RoutingVariant::OnePass, kernels::RoutingVariant::Unfused,
                   kernels::RoutingVariant::Split, kernels::RoutingVariant::Cluster}) {
    if (var == kernels::RoutingVariant::Cluster && !cluster) continue;
    const bool onepass = var == kernels::RoutingVariant::OnePass;
    const bool clustered = var == kernels::RoutingVariant::Cluster;
    const bool staged_fwd = clustered && kernels::routing_cluster_stages(N, J, Dout, iters, P, false);
    const bool staged_bwd = clustered && kernels::routing_cluster_stages(N, J, Dout, iters, P, true);
    std::string name = "split/" + std::to_string(kernels::routing_split_slices(B, N));
    if (var == kernels::RoutingVariant::Fused) name = "fused";
    if (onepass) name = "one-pass";
    if (var == kernels::RoutingVariant::Unfused) name = "unfused";
    if (clustered) name = "cluster/" + std::to_string(P) + (staged_fwd ? " staged" : "");
    const double passes = onepass ? double(iters) : staged_fwd ? 1.0 : fwd_passes;
    bench.add(
        tag + " routing " + name + " fwd r=" + std::to_string(iters), lay, (passes * nuh + nv) * f, rflops,
        [&] { kernels::routing_forward_cuda(v.p, uh.p, B, N, J, Dout, iters, false, var, s); },
        route_check(var, false));
    if (onepass) continue;
    if (var == kernels::RoutingVariant::Fused && !kernels::routing_fused_fits(N, J, Dout, iters, true, 0)) continue;
    const double bpasses = staged_bwd ? 1.0 + 2.0 * iters : bwd_passes;
    bench.add(tag + " routing " + name + " bwd r=" + std::to_string(iters), lay, (bpasses * nuh + nv) * f, 2 * rflops,
              [&] { kernels::routing_backward_cuda(duh.p, dv.p, uh.p, B, N, J, Dout, iters, false, false, var, s); });
  }
}

// CapsNet's primary-capsule convolution: (B, 20, 20, 256) -> (B, 6, 6, 256), 9x9, stride 2.
void primary_conv(Bench& bench, int64_t B) {
  const ConvShape cs = make_conv_shape(B, 20, 20, 256, 256, 9, 9, 2, false);
  const double nin = double(B * 20 * 20 * 256), nw = double(256 * 81 * 256), nout = double(B * 36 * 256);
  const double flops = 2 * nout * 81 * 256, f = 4;
  Buf x(size_t(nin), 11), w(size_t(nw), 12, -0.02, 0.02), b(256, 13), y(size_t(nout), 14), dy(size_t(nout), 15);
  Buf dx(size_t(nin), 16), dw(size_t(nw), 17);
  cudaStream_t s = bench.stream();
  for (bool tf32 : {false, true}) {
    cuda().set_allow_tf32(tf32);
    const std::string m = tf32 ? " tf32" : " fp32";
    const std::string shape = dims({B, 20, 20, 256}) + " k9s2";
    bench.add("primary conv fwd" + m, shape, (nin + nw + nout) * f, flops,
              [&] { kernels::conv2d_forward_cuda(y.p, x.p, w.p, b.p, cs, s); });
    bench.add("primary conv dgrad" + m, shape, (2 * nin + nw + nout) * f, flops,
              [&] { kernels::conv2d_backward_cuda(dx.p, nullptr, nullptr, dy.p, x.p, w.p, cs, s); });
    bench.add("primary conv wgrad" + m, shape, (nin + 2 * nw + nout) * f, flops,
              [&] { kernels::conv2d_backward_cuda(nullptr, dw.p, nullptr, dy.p, x.p, w.p, cs, s); });
  }
  cuda().set_allow_tf32(false);
}

// An MLCN w4 lane's primary conv, (B, 20, 20, 64) -> (B, 8, 8, 128), 6x6 stride 2, for G lanes:
// G separate convolutions against one grouped convolution (runtime.group_lanes), forward and
// both backward passes. A row times all G lanes' work.
void grouped_primary_conv(Bench& bench, int64_t B, int64_t G) {
  const int64_t C = 64, K = 128, H = 20;
  ConvShape one = make_conv_shape(B, H, H, C, K, 6, 6, 2, false);
  ConvShape grouped = make_conv_shape(B, H, H, G * C, G * K, 6, 6, 2, false);
  grouped.groups = G;
  const double nin = double(B * H * H * C), nw = double(K * 36 * C), nout = double(B * one.OH * one.OW * K);
  const double flops = 2 * nout * 36 * C * double(G), f = 4, bytes = (nin + nw + nout) * f * double(G);
  Buf x(size_t(nin * G), 21), w(size_t(nw * G), 22, -0.05, 0.05), b(size_t(K * G), 23), y(size_t(nout * G), 24);
  Buf dy(size_t(nout * G), 25), dx(size_t(nin * G), 26), dw(size_t(nw * G), 27);
  cudaStream_t s = bench.stream();
  const std::string shape = dims({B, H, H, C}) + " x" + std::to_string(G);
  const std::string tag = "mlcn w4 primary conv x" + std::to_string(G);
  // The separate lanes read their own contiguous buffers (offsets into the same allocations).
  auto lanes = [&](const std::function<void(int64_t)>& one_lane) {
    for (int64_t g = 0; g < G; ++g) one_lane(g);
  };
  bench.add(tag + " fwd separate", shape, bytes, flops, [&] {
    lanes([&](int64_t g) {
      kernels::conv2d_forward_cuda(y.p + g * int64_t(nout), x.p + g * int64_t(nin), w.p + g * int64_t(nw), b.p + g * K,
                                   one, s);
    });
  });
  bench.add(tag + " fwd grouped", shape, bytes, flops,
            [&] { kernels::conv2d_forward_cuda(y.p, x.p, w.p, b.p, grouped, s); });
  bench.add(tag + " bwd separate", shape, 2 * bytes, 2 * flops, [&] {
    lanes([&](int64_t g) {
      kernels::conv2d_backward_cuda(dx.p + g * int64_t(nin), dw.p + g * int64_t(nw), nullptr, dy.p + g * int64_t(nout),
                                    x.p + g * int64_t(nin), w.p + g * int64_t(nw), one, s);
    });
  });
  bench.add(tag + " bwd grouped", shape, 2 * bytes, 2 * flops,
            [&] { kernels::conv2d_backward_cuda(dx.p, dw.p, nullptr, dy.p, x.p, w.p, grouped, s); });
}

// Bias + ReLU after CapsNet's first conv (B x 20 x 20 x 256): the separate kernels (bias add in
// place, ReLU into a new output; ReLU backward into the input gradient, then the bias's column
// sums) against the fused pair (kernels/elementwise.cu), which moves 8n instead of 16n bytes
// forward and 12n instead of 20n backward.
void bias_relu(Bench& bench, int64_t B) {
  const int64_t rows = B * 20 * 20, cols = 256, n = rows * cols;
  const double nn = double(n);
  Buf y(size_t(n), 31), out(size_t(n), 32), b(size_t(cols), 33), dy(size_t(n), 34), din(size_t(n), 35),
      db(size_t(cols), 36);
  cudaStream_t s = bench.stream();
  const std::string shape = dims({rows, cols});
  bench.add("bias+relu fwd separate", shape, 16 * nn, 2 * nn, [&] {
    kernels::bias_add_cuda(y.p, b.p, rows, cols, s);
    kernels::relu_forward_cuda(out.p, y.p, n, s);
  });
  bench.add("bias+relu fwd fused", shape, 8 * nn, 2 * nn,
            [&] { kernels::bias_relu_forward_cuda(y.p, b.p, rows, cols, s); });
  bench.add("bias+relu bwd separate", shape, 20 * nn, 2 * nn, [&] {
    kernels::relu_backward_cuda(din.p, dy.p, out.p, n, s);
    kernels::bias_backward_cuda(db.p, din.p, rows, cols, s);
  });
  bench.add("bias+relu bwd fused", shape, 12 * nn, 2 * nn,
            [&] { kernels::relu_bias_backward_cuda(din.p, db.p, dy.p, out.p, rows, cols, s); });
}

}  // namespace

// The op table's entries that name bench shapes, through the engine's ops on the bench stream.
void op_table_rows(Bench& bench) {
  const Stream s{0, bench.stream()};
  uint64_t seed = 11;
  for (const test::OpCase& oc : test::op_cases()) {
    if (!oc.cuda || oc.bench_shapes.empty() || !oc.cost) continue;
    std::vector<Var> in = test::case_inputs(oc, oc.bench_shapes, seed++, DType::F32);
    for (Var& v : in) v = make_var(v->value.to(Device::cuda(0)), v->requires_grad);
    cuda().order_after_setup(s);
    const test::Cost c = oc.cost(oc.bench_shapes);
    const std::string shape = shape_str(oc.bench_shapes[0]);
    Tape fwd(s);
    fwd.grad_enabled = false;
    bench.add("op " + oc.name + " fwd", shape, c.bytes, c.flops, [&] { oc.build(fwd, in); });
    Tape t(s);
    Var y0 = oc.build(t, in);
    const Tensor seed_grad = Tensor::full(y0->value.shape(), 1.0, DType::F32, y0->value.device(),
                                          y0->value.device().is_cuda() ? s : Stream{});
    t.clear();
    bench.add("op " + oc.name + " fwd+bwd", shape, 3 * c.bytes, 3 * c.flops, [&] {
      Var y = oc.build(t, in);
      t.backward(y, seed_grad);
      t.clear();
    });
  }
}

int main(int argc, char** argv) {
  mlcn::bench::handle_help(argc, argv, "usage: bench_kernels [--reps N] [--warmup N] [--warm-l2] [--csv file]");
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) opt.reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--warmup" && i + 1 < argc) opt.warmup = std::max(0, std::atoi(argv[++i]));
    else if (a == "--warm-l2") opt.flush = false;
    else if (a == "--csv" && i + 1 < argc) opt.csv = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_kernels [--reps N] [--warmup N] [--warm-l2] [--csv file]\n");
      return 2;
    }
  }
  if (!cuda_available()) {
    std::printf("bench_kernels: no usable CUDA device; nothing to measure\n");
    return 0;
  }
  Bench bench(opt);
  const double copy_bw = bench.copy_bandwidth();
  const int64_t B = 100;
  capsule_layer(bench, "capsnet", B, 1152, 10, 16, 8, 3, true);
  for (int w = 1; w <= 5; ++w) capsule_layer(bench, "mlcn w" + std::to_string(w), B, 128 * w, 1, 10, 16, 3, w == 4);
  primary_conv(bench, B);
  for (int64_t G : {2, 8}) grouped_primary_conv(bench, B, G);
  bias_relu(bench, B);
  op_table_rows(bench);

  std::printf("device: %s; batch %lld; median of %d after %d warm-up launches; L2 %s\n", cuda().device_name(0).c_str(),
              static_cast<long long>(B), opt.reps, opt.warmup, opt.flush ? "flushed before each launch" : "warm");
  std::printf("measured device-to-device copy bandwidth: %.0f GB/s (read + write)\n\n", copy_bw / 1e9);
  std::printf("| %-36s | %-18s | %10s | %8s | %9s | %7s | %-14s |\n", "kernel", "shape", "median us", "GB/s",
              "GFLOP/s", "% copy", "check vs CPU");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(38, '-').c_str(), std::string(20, '-').c_str(),
              std::string(12, '-').c_str(), std::string(10, '-').c_str(), std::string(11, '-').c_str(),
              std::string(9, '-').c_str(), std::string(16, '-').c_str());
  FILE* csv = opt.csv.empty() ? nullptr : std::fopen(opt.csv.c_str(), "w");
  if (csv) std::fprintf(csv, "kernel,shape,median_us,gb_s,gflop_s,frac_copy_bw,check\n");
  for (const Row& r : bench.rows()) {
    const double gbs = r.bytes / (r.us * 1e-6) / 1e9, gfs = r.flops / (r.us * 1e-6) / 1e9;
    const double frac = 100.0 * r.bytes / (r.us * 1e-6) / copy_bw;
    std::printf("| %-36s | %-18s | %10.1f | %8.0f | %9.0f | %6.1f%% | %-14s |\n", r.kernel.c_str(), r.shape.c_str(), r.us,
                gbs, gfs, frac, r.check.c_str());
    if (csv)
      std::fprintf(csv, "%s,%s,%.3f,%.1f,%.1f,%.4f,%s\n", r.kernel.c_str(), r.shape.c_str(), r.us, gbs, gfs, frac / 100,
                   r.check.c_str());
  }
  if (csv) std::fclose(csv);
  return 0;
}
