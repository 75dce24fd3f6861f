// Training-step benchmark (issues 2 and 4): forward + backward + Adam at batch 100 on 28x28x1
// random inputs for CapsNet, MLCN 2 lanes (w4,d1), MLCN 8 lanes (w4,d1), MLCN 4 lanes (w2,d4),
// on the CPU (one device of --threads threads) or on GPU 0 (every lane its own stream).
// Prints a table of the median ms/step and images/s; --json prints one object per model.
// Usage: step [--device cpu|cuda] [--threads N] [--cpu-devices N] [--warmup W] [--iters I] [--models a,b] [--json]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "engine/ops/cuda_bridge.h"
#include "engine/runtime/lane_runtime.h"

using namespace mlcn;

namespace {

struct BenchModel {
  std::string name;
  ModelSpec spec;
};

std::vector<BenchModel> bench_models() {
  auto mlcn = [](int lanes, int w, int d) {
    ModelSpec s;
    s.lanes.assign(static_cast<size_t>(lanes), LaneSpec{"mlcn1", w, d});
    return s;
  };
  ModelSpec caps;
  caps.type = "capsnet";
  return {{"capsnet", caps}, {"mlcn-2l-w4d1", mlcn(2, 4, 1)}, {"mlcn-8l-w4d1", mlcn(8, 4, 1)},
          {"mlcn-4l-w2d4", mlcn(4, 2, 4)}};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, warmup = 2, iters = 5, cpu_devices = 1;
  bool json = false;
  std::string only, device = "cpu";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--warmup") warmup = std::atoi(next().c_str());
    else if (a == "--iters") iters = std::atoi(next().c_str());
    else if (a == "--models") only = next();
    else if (a == "--json") json = true;
    else if (a == "--device") device = next();
    else if (a == "--cpu-devices") cpu_devices = std::max(1, std::atoi(next().c_str()));
    else {
      std::fprintf(stderr, "usage: step [--device cpu|cuda] [--threads N] [--cpu-devices N] [--warmup W] [--iters I] [--models a,b] [--json]\n");
      return 2;
    }
  }
  if (device != "cpu" && device != "cuda") {
    std::fprintf(stderr, "step: --device must be cpu or cuda\n");
    return 2;
  }
  if (device == "cuda" && !cuda::available()) {
    std::fprintf(stderr, "step: --device cuda, but no usable GPU (CUDA compiled: %s)\n", cuda::compiled() ? "yes" : "no");
    return 1;
  }
  const int64_t B = 100;
  Rng rng(1);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, rng.uniform());
  std::vector<int32_t> labels;
  for (int64_t b = 0; b < B; ++b) labels.push_back(static_cast<int32_t>(rng.below(10)));
  if (!json) std::printf("%-14s %10s %10s %10s %10s\n", "model", "ms/step", "p10", "p90", "images/s");
  for (const BenchModel& bm : bench_models()) {
    if (!only.empty() && ("," + only + ",").find("," + bm.name + ",") == std::string::npos) continue;
    Model m(bm.spec);
    m.init(0);
    // --cpu-devices N splits the threads over N workers; lanes go round-robin over them.
    RuntimeOptions ro{cpu_devices, std::max(1, threads / cpu_devices), {}, 0, {}};
    if (device == "cuda") ro.devices = {Device::cuda(0)};
    LaneRuntime rt(m, ro);
    std::vector<double> ms;
    for (int it = 0; it < warmup + iters; ++it) {
      auto t0 = std::chrono::steady_clock::now();
      rt.step(x, labels, StepMode::Train, 1e-3, nullptr);
      double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (it >= warmup) ms.push_back(dt);
    }
    std::sort(ms.begin(), ms.end());
    double med = ms[ms.size() / 2], p10 = ms[ms.size() / 10], p90 = ms[(ms.size() * 9) / 10];
    if (json)
      std::printf("{\"model\": \"%s\", \"device\": \"%s\", \"threads\": %d, \"ms_per_step\": %.2f, \"p10\": %.2f, "
                  "\"p90\": %.2f, \"images_per_s\": %.1f}\n", bm.name.c_str(), device.c_str(), threads, med, p10, p90,
                  1000.0 * B / med);
    else
      std::printf("%-14s %10.1f %10.1f %10.1f %10.1f\n", bm.name.c_str(), med, p10, p90, 1000.0 * B / med);
    std::fflush(stdout);
  }
  return 0;
}
