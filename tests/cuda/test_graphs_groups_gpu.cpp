// The GPU runtime's fast paths against its eager path on cuda:0: CUDA-graph replay of each
// lane unit's and the head's training step (runtime.cuda_graphs), lane groups run as grouped convolutions
// (runtime.group_lanes), and both together. Same seeds, batches and dropout draws; 5 training
// steps, one of them at another batch size (which must run eagerly next to the captured graphs).
// Tolerances: graph replay launches the kernels of the eager step with the same cuDNN algorithms,
// but cuDNN's backward-filter algorithms may add in any order, so losses agree to rtol 1e-5 and
// parameters to 1e-5 in relative L2 norm; grouped convolutions may pick other algorithms than
// the per-lane ones: rtol 1e-4 and 1e-4 (order-of-one errors for a wrong channel or group).
#include <vector>

#include "cuda_test_util.h"
#include "engine/core/backend.h"
#include "engine/runtime/lane_runtime.h"

using namespace mlcn;
using namespace mlcn::test;

namespace {

ModelSpec spec() {
  ModelSpec s;
  s.lanes = {{"mlcn1", 2, 1}, {"mlcn2", 1, 1}, {"mlcn1", 2, 2}, {"mlcn1", 1, 1}, {"mlcn2", 1, 1}};
  s.lane_dropout = 0.2;
  return s;
}

Tensor images(int64_t B, uint64_t seed) {
  const auto pixels = rand_vec(size_t(B * 28 * 28), seed, 0.0, 1.0);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, pixels[size_t(i)]);
  return x;
}

std::vector<float> host(const Tensor& t) {
  Tensor h = t.to(Device::cpu());
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

// Trains `a` (eager) and `b` (the variant) side by side; batches of 16, 16, 9, 16, 16.
void train_alike(bool group_lanes, bool graphs, double tol, size_t expect_units, size_t expect_graph_units) {
  Model ma(spec()), mb(spec());
  ma.init(11);
  mb.init(11);
  RuntimeOptions oa, ob;
  oa.devices = ob.devices = {Device::cuda(0)};
  ob.group_lanes = group_lanes;
  ob.cuda_graphs = graphs;
  LaneRuntime ra(ma, oa), rb(mb, ob);
  CHECK(rb.units().size() == expect_units);
  Rng da(4), db(4);
  const int64_t sizes[] = {16, 16, 9, 16, 16};
  for (int s = 0; s < 5; ++s) {
    Tensor x = images(sizes[s], 100 + uint64_t(s));
    std::vector<int32_t> labels;
    for (int64_t b = 0; b < sizes[s]; ++b) labels.push_back(int32_t((b * 7 + s) % 10));
    StepResult a = ra.step(x, labels, StepMode::Train, 1e-3, &da);
    StepResult b = rb.step(x, labels, StepMode::Train, 1e-3, &db);
    INFO("step " << s << " batch " << sizes[s]);
    CHECK(b.loss == Approx(a.loss).epsilon(tol));
    expect_close(host(b.lengths), host(a.lengths), tol, tol, "class lengths");
  }
  CHECK(rb.graph_units() == expect_graph_units);
  CHECK(rb.head_graphed() == graphs);  // the head's step (with lane dropout) replays too
  auto pa = ma.all_params(), pb = mb.all_params();
  for (size_t k = 0; k < pa.size(); ++k) {
    INFO(pa[k]->name);
    CHECK(rel_l2(host(pb[k]->var->value), host(pa[k]->var->value)) <= tol);
  }
  // Evaluation and gradient-only steps stay eager and agree too.
  Tensor x = images(16, 7);
  std::vector<int32_t> labels(16, 3);
  CHECK(rb.step(x, labels, StepMode::Eval, 0, nullptr).loss ==
        Approx(ra.step(x, labels, StepMode::Eval, 0, nullptr).loss).epsilon(tol));
}

}  // namespace

TEST_CASE("CUDA graph replay trains exactly like eager steps", "[cuda][runtime][graphs]") {
  train_alike(false, true, 1e-5, 5, 5);
}

TEST_CASE("grouped lanes on a GPU train like separate lanes", "[cuda][runtime][group]") {
  train_alike(true, false, 1e-4, 3, 0);
}

TEST_CASE("grouped lanes replayed from CUDA graphs train like separate eager lanes", "[cuda][runtime][group][graphs]") {
  train_alike(true, true, 1e-4, 3, 3);
}

TEST_CASE("graph capture keeps its memory out of the shared cache", "[cuda][runtime][graphs]") {
  Model m(spec());
  m.init(2);
  RuntimeOptions o;
  o.devices = {Device::cuda(0)};
  o.cuda_graphs = true;
  Tensor x = images(16, 3);
  std::vector<int32_t> labels(16, 1);
  {
    LaneRuntime rt(m, o);
    for (int s = 0; s < 3; ++s) rt.step(x, labels, StepMode::Train, 1e-3, nullptr);
    const auto before = cuda().memory_info(0);
    for (int s = 0; s < 5; ++s) rt.step(x, labels, StepMode::Train, 1e-3, nullptr);
    const auto after = cuda().memory_info(0);
    CHECK(after.in_use == before.in_use);  // replays allocate nothing
  }
}
