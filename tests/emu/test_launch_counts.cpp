// Host submissions per training step (kernel launches, copies, fills, cuDNN/cuBLAS calls, graph
// launches), counted by the CUDA emulator for the benchmark models in each runtime variant. Small
// lanes are bound by launch latency on a GPU, so this is the number grouped lanes and CUDA graphs
// exist to cut; the counts are exact and do not depend on the machine. Prints a table (the rows
// of docs/results.md) and checks that graphs and grouping cut what they should.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/runtime/lane_runtime.h"
#include "tests/emu/emu_internal.h"

using namespace mlcn;

namespace {

struct Row {
  mlcn_emu::Counts eager, grouped, graphs, both;
};

// Submissions of the third training step (the first is eager warm-up, the second captures);
// with `detour`, of the step after a training step at another batch size (which runs eagerly;
// the graphs must serve the captured size again at once).
mlcn_emu::Counts step_counts(const ModelSpec& spec, bool group, bool graphs, int64_t B, bool detour = false) {
  Model m(spec);
  m.init(1);
  RuntimeOptions o;
  o.devices = {Device::cuda(0)};
  o.group_lanes = group;
  o.cuda_graphs = graphs;
  LaneRuntime rt(m, o);
  Tensor x = Tensor::full({B, 28, 28, 1}, 0.5);
  std::vector<int32_t> labels(size_t(B), 3);
  for (int s = 0; s < 2; ++s) rt.step(x, labels, StepMode::Train, 1e-3, nullptr);
  if (detour) {
    Tensor x1 = Tensor::full({B + 1, 28, 28, 1}, 0.5);
    rt.step(x1, std::vector<int32_t>(size_t(B + 1), 3), StepMode::Train, 1e-3, nullptr);
  }
  mlcn_emu::reset_counts();
  rt.step(x, labels, StepMode::Train, 1e-3, nullptr);
  return mlcn_emu::counts();
}

ModelSpec mlcn_model(int lanes, int w, int d) {
  ModelSpec s;
  s.lanes.assign(size_t(lanes), LaneSpec{"mlcn1", w, d});
  return s;
}

void print(const std::string& model, const char* variant, const mlcn_emu::Counts& c) {
  std::printf("| %s | %s | %ld | %ld | %ld (%ld pageable) | %ld | %ld | %ld |\n", model.c_str(), variant, c.kernel,
              c.library, c.copy, c.pageable_upload, c.fill, c.graph, c.total());
}

}  // namespace

TEST_CASE("host submissions per training step, by runtime variant", "[launches]") {
  const int64_t B = 2;  // the counts do not depend on the batch
  ModelSpec caps;
  caps.type = "capsnet";
  const std::vector<std::pair<std::string, ModelSpec>> models{
      {"capsnet", caps}, {"mlcn-2l-w4d1", mlcn_model(2, 4, 1)}, {"mlcn-8l-w4d1", mlcn_model(8, 4, 1)}, {"mlcn-4l-w2d4", mlcn_model(4, 2, 4)}};
  std::printf("| model | variant | kernels | cuDNN/cuBLAS calls | copies | fills | graph launches | total |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& [name, spec] : models) {
    INFO(name);
    const bool lanes = spec.type != "capsnet";
    Row r;
    r.eager = step_counts(spec, false, false, B);
    r.graphs = step_counts(spec, false, true, B);
    print(name, "eager", r.eager);
    print(name, "graphs", r.graphs);
    // Graphs: one forward and one backward launch per lane unit replace the lanes' work, and
    // one launch the head's (losses, decoder, backward, Adam). What the host still submits is
    // copies of the inputs into the graphs' static buffers: no kernel, library call or fill.
    const long units = lanes ? long(spec.lanes.size()) : 1;
    CHECK(r.graphs.graph == 2 * units + 1);
    CHECK(r.graphs.kernel == 0);
    CHECK(r.graphs.library == 0);
    CHECK(r.graphs.fill == 0);
    CHECK(r.graphs.total() < r.eager.total());
    const mlcn_emu::Counts back = step_counts(spec, false, true, B, true);
    CHECK(back.graph == r.graphs.graph);  // every graph replays right after a step at another size
    CHECK(back.total() == r.graphs.total());
    // The only host array a step uploads from pageable memory is the batch of images (once per
    // GPU); labels, selections, lane scales and Adam's step size go through pinned staging.
    CHECK(r.eager.pageable_upload <= 1);
    CHECK(r.graphs.pageable_upload <= 1);
    if (!lanes) continue;
    r.grouped = step_counts(spec, true, false, B);
    r.both = step_counts(spec, true, true, B);
    print(name, "grouped", r.grouped);
    print(name, "grouped+graphs", r.both);
    CHECK(r.both.graph == 3);  // all lanes of a model share one shape: one unit, and the head
    CHECK(r.both.kernel + r.both.library + r.both.fill == 0);
    CHECK(r.grouped.library < r.eager.library);  // one convolution per trunk stage for all lanes
    CHECK(r.both.total() <= r.graphs.total());
  }
}
