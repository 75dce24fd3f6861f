// The op table's entries (tests/op_cases.h). Shapes are deliberately not round numbers; capsule
// ops include zero and near-zero capsules in the gradient check (prepare); every case draws its
// inputs from a seed fixed by its position. Bench shapes are the real models' (batch 100):
// CapsNet (conv1, primary capsules, u (B, 1152, 8), W (1152, 10, 16, 8)) and an MLCN w4 lane.
// CUDA tolerances, by family (the same rules as the hand-written kernel tests in tests/cuda):
//   copies and max(0, x): exact;
//   expf-based (sigmoid): 1e-6 absolute, the libm/CUDA expf difference of a few ulp on (0, 1);
//   sums of K terms in another order (GEMM, bias, length, losses): rtol 1e-5, atol 1e-6 K;
//   cuDNN (any algorithm, incl. FFT/Winograd): rtol 1e-4, atol 1e-4 max|ref|;
//   routing (iterated softmax/squash of sums over N): rtol 1e-4, atol 1e-5 sqrt(N).
#include "op_cases.h"

#include <cmath>

#include "base/conv_shape.h"
#include "engine/ops/ops.h"

namespace mlcn::test {
namespace {

double numel(const Shape& s) { return double(shape_numel(s)); }

void zero_row(Tensor& t, int64_t row, int64_t D, double value = 0.0) {
  for (int64_t d = 0; d < D; ++d) t.set(row * D + d, value);
}

// Elementwise over the first input: k flops per element, `streams` tensors of its size moved.
std::function<Cost(const std::vector<Shape>&)> elementwise(double k, double streams) {
  return [k, streams](const std::vector<Shape>& s) { return Cost{k * numel(s[0]), 4 * streams * numel(s[0])}; };
}

// x (B,H,W,C), w (K,kh,kw,C/g): 2 MACs per tap.
std::function<Cost(const std::vector<Shape>&)> conv_cost(int stride, bool same, int groups) {
  return [=](const std::vector<Shape>& s) {
    const Shape& x = s[0];
    const Shape& w = s[1];
    ConvShape c = make_conv_shape(x[0], x[1], x[2], x[3], w[0], w[1], w[2], stride, same);
    const double out = double(c.B * c.OH * c.OW * c.K);
    return Cost{2 * out * double(w[1] * w[2] * (x[3] / groups)), 4 * (numel(x) + numel(w) + out)};
  };
}

std::function<Cost(const std::vector<Shape>&)> depthwise_cost(int stride, bool same) {
  return [=](const std::vector<Shape>& s) {
    const Shape& x = s[0];
    const Shape& w = s[1];
    ConvShape c = make_conv_shape(x[0], x[1], x[2], x[3], x[3], w[1], w[2], stride, same);
    const double out = double(c.B * c.OH * c.OW * c.C);
    return Cost{2 * out * double(w[1] * w[2]), 4 * (numel(x) + numel(w) + out)};
  };
}

// x (N,in), w (out,in) or (in,out): 2 N in out.
Cost linear_cost(const std::vector<Shape>& s) {
  const double N = double(s[0][0]), in = double(s[0][1]), out = numel(s[1]) / in;
  return {2 * N * in * out, 4 * (N * in + in * out + N * out)};
}

// u (B,N,Din), W (N,J,Dout,Din) -> uhat (B,N,J,Dout)
Cost predict_cost(const std::vector<Shape>& s) {
  const double B = double(s[0][0]), R = double(s[1][1] * s[1][2]), N = double(s[0][1]), Din = double(s[0][2]);
  return {2 * B * N * R * Din, 4 * (numel(s[0]) + numel(s[1]) + B * N * R)};
}

// uhat (B,N,J,D), r iterations: a weighted sum and an agreement dot product per iteration.
std::function<Cost(const std::vector<Shape>&)> routing_cost(int iters) {
  return [iters](const std::vector<Shape>& s) {
    const Shape& u = s[0];
    return Cost{4 * double(iters) * numel(u), 4 * (double(iters) * numel(u) + double(u[0] * u[2] * u[3]))};
  };
}

const Tol kExact{0, 0, 0};
const Tol kConv{1e-4, 0, 1e-4};
const char* kConvWhy = "cuDNN picks any algorithm: float32 error relative to the output's magnitude";

OpCase entry(std::string name, std::vector<Shape> shapes, BuildFn build, double lo = -1, double hi = 1) {
  OpCase o;
  o.name = std::move(name), o.shapes = std::move(shapes), o.build = std::move(build), o.lo = lo, o.hi = hi;
  return o;
}

}  // namespace

Tensor random_tensor(const Shape& shape, Rng& rng, double lo, double hi, DType dt) {
  Tensor t = Tensor::empty(shape, dt);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, rng.uniform(lo, hi));
  return t;
}

std::vector<Var> case_inputs(const OpCase& c, const std::vector<Shape>& shapes, uint64_t seed, DType dt) {
  Rng rng(seed);
  std::vector<Var> v;
  for (size_t i = 0; i < shapes.size(); ++i) {
    bool constant = false;
    for (size_t k : c.constant) constant = constant || k == i;
    v.push_back(make_var(random_tensor(shapes[i], rng, c.lo, c.hi, dt), !constant));
  }
  return v;
}

std::vector<OpCase> op_cases() {
  using V = const std::vector<Var>&;
  std::vector<OpCase> c;
  auto conv = [&](const char* name, std::vector<Shape> shapes, int stride, bool same, int groups, bool bias,
                  std::vector<Shape> bench = {}) {
    OpCase o = entry(name, shapes,
                     [=](Tape& t, V v) { return conv2d(t, v[0], v[1], bias ? v[2] : nullptr, stride, same, groups); });
    o.tol = kConv, o.tol_why = kConvWhy, o.cost = conv_cost(stride, same, groups), o.bench_shapes = bench;
    c.push_back(o);
  };
  conv("conv2d valid s1 + bias", {{2, 7, 6, 3}, {4, 3, 2, 3}, {4}}, 1, false, 1, true,
       {{100, 28, 28, 1}, {256, 9, 9, 1}, {256}});
  conv("conv2d valid s2", {{2, 9, 8, 2}, {3, 3, 3, 2}, {3}}, 2, false, 1, true,
       {{100, 20, 20, 256}, {256, 9, 9, 256}, {256}});
  conv("conv2d valid s3 (deep primary)", {{2, 17, 8, 3}, {5, 6, 6, 3}, {5}}, 3, false, 1, true);
  conv("conv2d grouped, 3 groups", {{2, 7, 6, 6}, {9, 3, 2, 2}, {9}}, 2, false, 3, true,
       {{100, 20, 20, 96}, {192, 6, 6, 32}, {192}});
  conv("conv2d grouped same 3x3, 2 groups", {{2, 5, 4, 4}, {4, 3, 3, 2}, {4}}, 1, true, 2, true);
  conv("conv2d same 3x3", {{1, 5, 4, 3}, {2, 3, 3, 3}, {2}}, 1, true, 1, true);
  conv("conv2d same 1x1 (pointwise GEMM path)", {{2, 3, 4, 5}, {3, 1, 1, 5}, {3}}, 1, true, 1, true);
  conv("conv2d no bias", {{2, 6, 5, 2}, {3, 2, 3, 2}}, 1, false, 1, false);
  // The ReLU fused with the bias (the trunks' and primary levels' layers).
  for (auto [name, x, w, groups, bias] :
       {std::tuple<const char*, Shape, Shape, int, bool>{"conv2d + fused relu", {2, 7, 6, 3}, {4, 3, 2, 3}, 1, true},
        {"conv2d grouped + fused relu, 2 groups", {2, 6, 5, 4}, {6, 2, 2, 2}, 2, true},
        {"conv2d no bias + fused relu", {2, 6, 5, 2}, {3, 2, 3, 2}, 1, false}}) {
    const int g = groups;
    const bool bs = bias;
    OpCase o = entry(name, bs ? std::vector<Shape>{x, w, {w[0]}} : std::vector<Shape>{x, w}, [=](Tape& t, V v) {
      return conv2d(t, v[0], v[1], bs ? v[2] : nullptr, 1, false, g, Act::Relu);
    });
    o.tol = kConv, o.tol_why = kConvWhy, o.cost = conv_cost(1, false, g);
    if (g == 1 && bs) o.bench_shapes = {{100, 28, 28, 1}, {256, 9, 9, 1}, {256}};
    c.push_back(o);
  }
  for (auto [name, x, w, stride, same] :
       {std::tuple<const char*, Shape, Shape, int, bool>{"depthwise 3x3 valid", {2, 8, 7, 3}, {3, 3, 3}, 1, false},
        {"depthwise 2x2 same s2", {1, 5, 6, 4}, {4, 2, 2}, 2, true}}) {
    const int st = stride;
    const bool sm = same;
    OpCase o = entry(name, {x, w}, [=](Tape& t, V v) { return depthwise_conv2d(t, v[0], v[1], st, sm); });
    o.tol = {1e-5, 1e-5, 0}, o.tol_why = "taps summed in another order: at most kh*kw*B*OH*OW terms of size <= 1";
    o.cost = depthwise_cost(st, sm);
    if (st == 1) o.bench_shapes = {{100, 20, 20, 64}, {64, 3, 3}};
    c.push_back(o);
  }
  {
    OpCase o = entry("dense", {{3, 5}, {4, 5}, {4}}, [](Tape& t, V v) { return dense(t, v[0], v[1], v[2]); });
    o.tol = {1e-5, 1e-5, 0}, o.tol_why = "cuBLAS sums K <= 5 terms in another order: atol 1e-6 K";
    o.cost = linear_cost, o.bench_shapes = {{100, 160}, {512, 160}, {512}};
    c.push_back(o);
  }
  {
    OpCase o = entry("dense + fused relu", {{3, 5}, {4, 5}, {4}},
                     [](Tape& t, V v) { return dense(t, v[0], v[1], v[2], Act::Relu); });
    o.tol = {1e-5, 1e-5, 0}, o.tol_why = "cuBLAS sums K <= 5 terms in another order: atol 1e-6 K";
    o.cost = linear_cost, o.bench_shapes = {{100, 160}, {512, 160}, {512}};
    c.push_back(o);
  }
  {
    OpCase o = entry("matmul", {{3, 5}, {5, 7}}, [](Tape& t, V v) { return matmul(t, v[0], v[1]); });
    o.tol = {1e-5, 1e-5, 0}, o.tol_why = "cuBLAS sums K <= 5 terms in another order: atol 1e-6 K";
    o.cost = linear_cost;
    c.push_back(o);
  }
  {
    OpCase o = entry("relu", {{3, 7}}, [](Tape& t, V v) { return relu(t, v[0]); });
    o.tol = kExact, o.tol_why = "max(0, x) and a select: exact";
    o.cost = elementwise(1, 2), o.bench_shapes = {{100, 1024}};
    c.push_back(o);
  }
  {
    OpCase o = entry(
        "sigmoid", {{3, 7}}, [](Tape& t, V v) { return sigmoid(t, v[0]); }, -4, 4);
    o.tol = {1e-6, 1e-6, 0}, o.tol_why = "expf of libm and CUDA differ by a few ulp on (0, 1)";
    o.cost = elementwise(4, 2);
    c.push_back(o);
  }
  {
    OpCase o = entry("reshape", {{2, 6}}, [](Tape& t, V v) { return sigmoid(t, reshape(t, v[0], {3, 4})); });
    o.tol = {1e-6, 1e-6, 0}, o.tol_why = "a view, then sigmoid (expf: a few ulp)";
    o.cost = elementwise(4, 2);
    c.push_back(o);
  }
  {
    OpCase o =
        entry("squash with zero and near-zero capsules", {{4, 3, 5}}, [](Tape& t, V v) { return squash(t, v[0]); });
    o.prepare = [](std::vector<Var>& v) {
      zero_row(v[0]->value, 1, 5, 0.0);
      zero_row(v[0]->value, 4, 5, 1e-4);
    };
    o.tol = {1e-5, 1e-5, 0}, o.tol_why = "norms of D terms summed by a shuffle tree; the factor's formula is the same";
    o.cost = elementwise(6, 2), o.bench_shapes = {{100, 1152, 8}};
    c.push_back(o);
  }
  {
    OpCase o = entry(
        "squash large norms", {{3, 7}}, [](Tape& t, V v) { return squash(t, v[0]); }, -5, 5);
    o.tol = {1e-5, 1e-5, 0}, o.tol_why = "norms of D terms summed by a shuffle tree; the factor's formula is the same";
    o.cost = elementwise(6, 2);
    c.push_back(o);
  }
  {
    OpCase o = entry("predict J=3 (CapsNet shape)", {{2, 5, 3}, {5, 3, 4, 3}},
                     [](Tape& t, V v) { return predict(t, v[0], v[1]); });
    o.tol = {1e-5, 1e-5, 0},
    o.tol_why = "dot products of Din, sums over B and R terms of size <= 1: atol 1e-6 per term";
    o.cost = predict_cost, o.bench_shapes = {{100, 1152, 8}, {1152, 10, 16, 8}};
    c.push_back(o);
  }
  {
    OpCase o = entry("predict J=1 (MLCN shape)", {{2, 6, 4}, {6, 1, 3, 4}},
                     [](Tape& t, V v) { return predict(t, v[0], v[1]); });
    o.tol = {1e-5, 1e-5, 0},
    o.tol_why = "dot products of Din, sums over B and R terms of size <= 1: atol 1e-6 per term";
    o.cost = predict_cost, o.bench_shapes = {{100, 512, 16}, {512, 1, 10, 16}};
    c.push_back(o);
  }
  auto route = [&](const char* name, Shape u, int iters, bool fast, double range, bool zero, bool bench) {
    OpCase o = entry(
        name, {u}, [=](Tape& t, V v) { return routing(t, v[0], iters, false, fast); }, -range, range);
    if (zero) o.prepare = [](std::vector<Var>& v) { zero_row(v[0]->value, 3, 3, 0.0); };
    o.tol = {1e-4, 1e-5 * std::sqrt(double(u[1])), 0};
    o.tol_why = "iterated softmax and squash of sums over N in another order: atol 1e-5 sqrt(N)";
    o.cost = routing_cost(iters);
    if (bench) o.bench_shapes = {{100, 1152, 10, 16}};
    c.push_back(o);
  };
  route("routing J=3 r=3 full gradient", {2, 5, 3, 4}, 3, true, 0.6, false, true);
  route("routing J=4 r=2 with a zero prediction", {2, 7, 4, 3}, 2, true, 0.8, true, false);
  route("routing J=1 fast path", {3, 6, 1, 5}, 3, true, 0.3, false, false);
  route("routing J=1 general loop", {3, 6, 1, 5}, 3, false, 0.3, false, false);
  {
    OpCase o = entry("length with a zero capsule", {{3, 4, 5}}, [](Tape& t, V v) { return length(t, v[0]); });
    o.prepare = [](std::vector<Var>& v) { zero_row(v[0]->value, 2, 5, 0.0); };
    o.tol = {1e-6, 1e-6, 0}, o.tol_why = "a norm of D terms; sqrtf and division correctly rounded";
    o.cost = elementwise(2, 1), o.bench_shapes = {{100, 10, 16}};
    c.push_back(o);
  }
  {
    OpCase o = entry("mask", {{3, 4, 2}}, [](Tape& t, V v) { return mask(t, v[0], {2, 0, 3}); });
    o.tol = kExact, o.tol_why = "copies";
    o.cost = elementwise(0, 2);
    c.push_back(o);
  }
  {
    OpCase o = entry("concat_last", {{2, 3, 1}, {2, 3, 2}, {2, 3, 1}}, [](Tape& t, V v) {
      return concat_last(t, {v[0], v[1], v[2]});
    });
    o.tol = kExact, o.tol_why = "copies";
    o.cost = elementwise(0, 8);
    c.push_back(o);
  }
  {
    OpCase o = entry("split_last, parts reordered and one unused", {{2, 3, 6}}, [](Tape& t, V v) {
      std::vector<Var> p = split_last(t, v[0], {1, 3, 2});
      return concat_last(t, {p[2], p[0]});
    });
    o.tol = kExact, o.tol_why = "copies and one accumulation into zeros";
    o.cost = elementwise(0, 2);
    c.push_back(o);
  }
  {
    OpCase o = entry("lane_scale (dropout)", {{2, 3, 4}}, [](Tape& t, V v) {
      return lane_scale(t, v[0], {2.0, 0.0, 2.0, 2.0});
    });
    o.tol = kExact, o.tol_why = "one multiply by 0 or 2 (exact), accumulated into zeros";
    o.cost = elementwise(1, 2);
    c.push_back(o);
  }
  {
    OpCase o = entry(
        "margin_loss", {{3, 4}},
        [](Tape& t, V v) {
          return margin_loss(t, v[0], {1, 3, 0});
        },
        0.0, 1.2);
    o.tol = {1e-5, 1e-6, 0}, o.tol_why = "a sum of B J terms in another order (value); the gradient is elementwise";
    o.cost = elementwise(6, 1);
    c.push_back(o);
  }
  {
    OpCase o = entry("mse_loss", {{3, 5}, {15}}, [](Tape& t, V v) {
      return mse_loss(t, v[0], v[1]->value.reshape({3, 5}));
    });
    o.constant = {1};
    o.tol = {1e-5, 1e-6, 0}, o.tol_why = "a sum of n terms in another order (value); the gradient is elementwise";
    o.cost = elementwise(3, 2);
    c.push_back(o);
  }
  {
    OpCase o = entry("add_scaled", {{1}, {1}}, [](Tape& t, V v) { return add_scaled(t, v[0], v[1], 0.392); });
    o.cuda = false;  // host scalars (the losses' sum)
    o.cost = elementwise(2, 3);
    c.push_back(o);
  }
  return c;
}

}  // namespace mlcn::test
