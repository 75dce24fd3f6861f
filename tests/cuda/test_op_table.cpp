// CUDA vs CPU parity of every op-table entry (tests/op_cases.h) through the engine's ops: the
// same float32 inputs (random, never zeros) on the CPU and on GPU 0, the forward value and,
// after a backward from the same random seed gradient, every input's gradient compared with
// the entry's tolerance (the rule in cuda_test_util.h, plus atol_of_max * max|cpu|). The GPU
// tape runs on its own stream, ordered after the setup stream that copied the inputs.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda_test_util.h"
#include "engine/core/backend.h"
#include "op_cases.h"

using namespace mlcn;
using namespace mlcn::test;

namespace {

std::vector<float> host_values(const Tensor& t, const Stream& s) {
  Tensor h = t.to(Device::cpu(), t.device().is_cuda() ? s : Stream{});
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

void compare(const std::vector<float>& gpu, const std::vector<float>& cpu, const Tol& tol, const std::string& what) {
  expect_close(gpu, cpu, tol.rtol, tol.atol + tol.atol_of_max * double(max_abs(cpu)), what);
}

}  // namespace

TEST_CASE("op table: CUDA matches the CPU twin, forward and gradients", "[cuda][optable]") {
  const std::vector<OpCase> cases = op_cases();
  const Stream s = cuda().create_stream(0);
  uint64_t seed = 4201;
  size_t run = 0;
  for (const OpCase& oc : cases) {
    ++seed;
    if (!oc.cuda) continue;
    INFO(oc.name << " (tolerance: " << oc.tol_why << ")");
    std::vector<Var> cpu_in = case_inputs(oc, oc.shapes, seed, DType::F32), gpu_in;
    for (const Var& v : cpu_in) gpu_in.push_back(make_var(v->value.to(Device::cuda(0)), v->requires_grad));
    Tape tc, tg(s);
    cuda().order_after_setup(s);
    Var yc = oc.build(tc, cpu_in), yg = oc.build(tg, gpu_in);
    Rng r(seed * 7 + 1);
    Tensor seed_grad = random_tensor(yc->value.shape(), r, -1, 1, DType::F32);
    tc.backward(yc, seed_grad);
    tg.backward(yg, seed_grad.to(yg->value.device(), yg->value.device().is_cuda() ? s : Stream{}));
    compare(host_values(yg->value, s), host_values(yc->value, s), oc.tol, oc.name + ": forward");
    for (size_t i = 0; i < cpu_in.size(); ++i) {
      if (!cpu_in[i]->requires_grad) continue;
      REQUIRE(gpu_in[i]->grad.defined());
      compare(host_values(gpu_in[i]->grad, s), host_values(cpu_in[i]->grad, s), oc.tol,
              oc.name + ": gradient of input " + std::to_string(i));
    }
    ++run;
  }
  CHECK(run == size_t(std::count_if(cases.begin(), cases.end(), [](const OpCase& c) { return c.cuda; })));
  CHECK(run >= 30);
}
