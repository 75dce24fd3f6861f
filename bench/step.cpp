// Training-step benchmark (issues 2 and 4): forward + backward + Adam at batch 100 on 28x28x1
// random inputs for CapsNet, MLCN 2 lanes (w4,d1), MLCN 8 lanes (w4,d1), MLCN 4 lanes (w2,d4),
// on the CPU (one device of --threads threads) or on GPU 0 (every lane unit its own stream).
// --variants runs each model in several runtime modes: eager (one unit per lane), grouped
// (runtime.group_lanes), graphs (runtime.cuda_graphs), grouped+graphs.
// On the GPU, --routing and --predict choose the capsule kernels (runtime.routing_variant and
// runtime.predict_variant), so one GPU run can time every variant in whole training steps.
// Prints a table of the median ms/step, images/s, the step's GFLOP/s (model_flops below) and the
// peak resident memory of the model's steps (VmHWM, reset before each model through
// /proc/self/clear_refs); --json prints one object per model and variant.
// On the CPU, --cpu-devices defaults to the trainer's auto rule (one single-thread worker per
// lane up to --threads; runtime.cpu_devices = 0); --cpu-devices N forces N workers.
// Usage: step [--device cpu|cuda] [--threads N] [--cpu-devices N] [--warmup W] [--iters I] [--models a,b]
//             [--variants eager,grouped,graphs,grouped+graphs] [--tf32 on|off] [--routing NAME]
//             [--predict NAME] [--json]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "base/check.h"        // defines: Error
#include "bench/bench_cli.h"  // defines: handle_help, usage_error, next_value
#include "engine/core/backend.h"
#include "engine/runtime/lane_runtime.h"
#include "engine/train/run_log.h"  // defines: peak_rss_mb
#include "sched/lane_model.h"      // defines: lane_stats, head_stats

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

// FLOPs of one training step at batch B (2 x multiply-adds of every conv, dense and prediction
// layer forward and backward, bias/activation passes, Adam): sched's lane model for MLCNs; for
// CapsNet the same conventions written out (spec section 2: conv 9x9 1->256, primary 9x9/2
// 256->256, 1152x10 predictions of 8->16, decoder 160-512-1024-784).
double model_flops(const BenchModel& bm, int64_t B) {
  if (bm.spec.type == "capsnet") {
    const double b = double(B);
    const double conv1 = 400.0 * 256 * 81, prim = 36.0 * 256 * 81 * 256, uhat = 1152.0 * 10 * 16 * 8;
    const double dec = 160.0 * 512 + 512.0 * 1024 + 1024.0 * 784;
    // forward 2*MACs; backward: filter gradient of every layer, input gradient of all but conv1
    return b * 2 * (conv1 * 2 + (prim + uhat + dec) * 3);
  }
  double f = 0;
  for (const LaneSpec& l : bm.spec.lanes) {
    LaneDesc d;
    d.type = l.type;
    d.width = l.width;
    d.depth = l.depth;
    d.batch = static_cast<int>(B);
    f += lane_stats(d).train_flops;
  }
  LaneDesc shape;
  shape.batch = static_cast<int>(B);
  return f + head_stats(shape, static_cast<int>(bm.spec.lanes.size())).train_flops;
}

// Resets the process's peak resident set (VmHWM) so the next model's peak is its own.
void reset_peak_rss() {
  if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "usage: step [--device cpu|cuda] [--threads N] [--cpu-devices N] [--warmup W] [--iters I] "
                      "[--models a,b] [--variants eager,grouped,graphs,grouped+graphs] [--tf32 on|off] [--routing NAME] "
                      "[--predict NAME] [--json]\n  --routing: auto, fused, one-pass, unfused, split, cluster; "
                      "--predict: auto, shared, blas (GPU only)";
  mlcn::bench::handle_help(argc, argv, usage);
  int threads = 2, warmup = 2, iters = 5, cpu_devices = 0;
  bool json = false, tf32 = false;
  std::string only, device = "cpu", variants = "eager", routing = "auto", predict = "auto";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return mlcn::bench::next_value(argc, argv, &i, "step", usage); };
    auto count = [&]() { return mlcn::bench::positive_int(a, next(), "step", usage); };
    if (a == "--threads") threads = count();
    else if (a == "--warmup") warmup = std::atoi(next().c_str());
    else if (a == "--iters") iters = count();
    else if (a == "--models") only = next();
    else if (a == "--variants") variants = next();
    else if (a == "--json") json = true;
    else if (a == "--device") device = next();
    else if (a == "--cpu-devices") cpu_devices = count();
    else if (a == "--tf32") {  // TF32 cuBLAS/cuDNN math (runtime.allow_tf32)
      const std::string v = next();
      if (v != "on" && v != "off") mlcn::bench::usage_error("step", "--tf32 takes on or off, got '" + v + "'", usage);
      tf32 = v == "on";
    } else if (a == "--routing") routing = next();
    else if (a == "--predict") predict = next();
    else mlcn::bench::usage_error("step", "unknown option '" + a + "'", usage);
  }
  if (device != "cpu" && device != "cuda") mlcn::bench::usage_error("step", "--device must be cpu or cuda", usage);
  if (device == "cuda" && !cuda_available()) {
    std::fprintf(stderr, "step: --device cuda, but no usable GPU (CUDA compiled: %s)\n", cuda_compiled() ? "yes" : "no");
    return 1;
  }
  try {
    routing_variant_named(routing);
    predict_variant_named(predict);
  } catch (const Error& e) {
    mlcn::bench::usage_error("step", e.message(), usage);
  }
  if ((routing != "auto" || predict != "auto") && device != "cuda")
    mlcn::bench::usage_error("step", "--routing and --predict choose GPU kernels: use them with --device cuda", usage);
  if (device == "cuda") {
    cuda().set_allow_tf32(tf32);
    cuda().set_routing_variant(routing_variant_named(routing));
    cuda().set_predict_variant(predict_variant_named(predict));
  }
  const int64_t B = 100;
  Rng rng(1);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, rng.uniform());
  std::vector<int32_t> labels;
  for (int64_t b = 0; b < B; ++b) labels.push_back(static_cast<int32_t>(rng.below(10)));
  std::vector<std::string> modes;
  {
    std::stringstream ss(variants);
    for (std::string v; std::getline(ss, v, ',');) modes.push_back(v);
  }
  for (const std::string& v : modes)
    if (v != "eager" && v != "grouped" && v != "graphs" && v != "grouped+graphs") {
      std::fprintf(stderr, "step: unknown variant '%s' (eager, grouped, graphs, grouped+graphs)\n", v.c_str());
      return 2;
    }
  if (!json)
    std::printf("%-14s %-15s %10s %10s %10s %10s %8s %8s %8s\n", "model", "variant", "ms/step", "p10", "p90", "images/s",
                "GFLOP/s", "workers", "rss MB");
  for (const BenchModel& bm : bench_models())
    for (const std::string& variant : modes) {
      if (!only.empty() && ("," + only + ",").find("," + bm.name + ",") == std::string::npos) continue;
      reset_peak_rss();
      Model m(bm.spec);
      m.init(0);
      // --cpu-devices N splits the threads over N workers (0: the trainer's auto rule); lanes
      // go round-robin over them.
      const int workers = cpu_devices > 0 ? cpu_devices : auto_cpu_devices(threads, m.num_lanes());
      RuntimeOptions ro{workers, std::max(1, threads / workers), {}, 0, {}};
      if (device == "cuda") ro.devices = {Device::cuda(0)};
      ro.group_lanes = variant.find("grouped") != std::string::npos;
      ro.cuda_graphs = variant.find("graphs") != std::string::npos;
      if (ro.cuda_graphs && device != "cuda") continue;  // graphs are a GPU mode
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
      const double gflops = model_flops(bm, B) / (med * 1e6), rss = peak_rss_mb();
      const int n_workers = device == "cuda" ? 1 : workers;
      if (json)
        std::printf("{\"model\": \"%s\", \"variant\": \"%s\", \"device\": \"%s\", \"threads\": %d, "
                    "\"ms_per_step\": %.3f, \"p10\": %.3f, \"p90\": %.3f, \"images_per_s\": %.1f, \"units\": %zu, "
                    "\"graph_units\": %zu, \"gflop_per_s\": %.1f, \"workers\": %d, \"peak_rss_mb\": %.1f}\n",
                    bm.name.c_str(), variant.c_str(), device.c_str(), threads, med, p10, p90, 1000.0 * B / med,
                    rt.units().size(), rt.graph_units(), gflops, n_workers, rss);
      else
        std::printf("%-14s %-15s %10.2f %10.2f %10.2f %10.1f %8.1f %8d %8.1f\n", bm.name.c_str(), variant.c_str(), med,
                    p10, p90, 1000.0 * B / med, gflops, n_workers, rss);
      std::fflush(stdout);
    }
  return 0;
}
