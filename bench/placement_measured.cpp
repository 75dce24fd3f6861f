// Placement measured for real on CPU devices (issue 5's measured column, paper Fig. 8 and
// Section 3.1 at a CPU scale): 2 CPU devices of 1 thread each, lanes with (w, d) in 1..3.
//  1. Calibration: the paper's probe (a 512x512 fully-connected net) on each device gives its
//     speed; every candidate lane is timed alone (forward + backward, median of 3) with its peak
//     host memory; a calibrated time model is fitted (sched/calibration.h). Prints the Pearson
//     r of predicted vs measured lane times (paper: 0.901) and the memory bound's error.
//  2. Random networks of 6 lanes are placed by each algorithm with the calibrated model and
//     run for real through the lane runtime: predicted makespan beside the measured step time.
// Usage: placement_measured [--batch 20] [--networks 4] [--lanes 6] [--out calibration.json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_cli.h"  // defines: handle_help, usage_error, next_value
#include "engine/ops/ops.h"
#include "engine/runtime/lane_runtime.h"
#include "sched/calibration.h"
#include "sched/cost_model.h"
#include "sched/placement.h"

using namespace mlcn;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Tensor random_images(int64_t B, uint64_t seed) {
  Rng r(seed);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, r.uniform());
  return x;
}

// Forward + backward of one lane alone on `worker`; returns (median seconds, peak bytes).
std::pair<double, double> time_lane(const LaneDesc& d, CpuWorker& worker, const Tensor& x) {
  std::pair<double, double> out;
  worker.submit([&] {
    auto lane = make_lane({d.type, d.width, d.depth}, {28, 28, 1, 10}, LaneOptions{}, "");
    Rng r(3);
    lane->init(r);
    Var xv = make_var(x, false);
    std::vector<double> t;
    double peak = 0;
    Tape tape;
    for (int it = 0; it < 4; ++it) {
      cpu_reset_peak();
      const size_t base = cpu_bytes_in_use();
      auto t0 = Clock::now();
      Var v = lane->forward(tape, xv);
      tape.backward(v, Tensor::full(v->value.shape(), 0.01));
      tape.clear();
      if (it > 0) t.push_back(seconds_since(t0));
      peak = std::max(peak, double(cpu_bytes_peak() - base));
    }
    out = {median(t), peak};
  }).get();
  return out;
}

// The paper's speed probe: a 512x512 fully-connected layer pair, forward + backward.
double probe(CpuWorker& worker) {
  double s = 0;
  worker.submit([&] {
    Rng r(4);
    auto rnd = [&](Shape sh) {
      Tensor t = Tensor::empty(sh);
      for (int64_t i = 0; i < t.numel(); ++i) t.set(i, r.uniform(-0.05, 0.05));
      return t;
    };
    Var x = make_var(rnd({256, 512})), w1 = make_var(rnd({512, 512}), true), w2 = make_var(rnd({512, 512}), true);
    std::vector<double> t;
    for (int it = 0; it < 6; ++it) {
      Tape tape;
      auto t0 = Clock::now();
      Var y = dense(tape, relu(tape, dense(tape, x, w1, nullptr)), w2, nullptr);
      tape.backward(y, Tensor::full(y->value.shape(), 1.0));
      if (it > 0) t.push_back(seconds_since(t0));
    }
    s = median(t);
  }).get();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: placement_measured [--batch N] [--networks N] [--lanes N] [--out FILE]\n"
      "  places random lane sets on 2 CPU workers with each algorithm and measures the step times";
  mlcn::bench::handle_help(argc, argv, usage);
  int batch = 20, networks = 4, n_lanes = 6;
  std::string out_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out") {
      out_path = mlcn::bench::next_value(argc, argv, &i, "placement_measured", usage);
      continue;
    }
    int* target = a == "--batch" ? &batch : a == "--networks" ? &networks : a == "--lanes" ? &n_lanes : nullptr;
    if (!target) mlcn::bench::usage_error("placement_measured", "unknown option '" + a + "'", usage);
    *target = mlcn::bench::positive_int(a, mlcn::bench::next_value(argc, argv, &i, "placement_measured", usage),
                                        "placement_measured", usage);
  }
  try {
    const int G = 2;
    std::vector<std::unique_ptr<CpuWorker>> workers;
    for (int g = 0; g < G; ++g) workers.push_back(std::make_unique<CpuWorker>(1));
    Tensor x = random_images(batch, 1);

    Calibration cal;
    cal.feature = "flops";
    for (int g = 0; g < G; ++g) {
      std::string name = "cpu" + std::to_string(g);
      cal.devices.push_back({name, 1.0, 0.0});
      cal.probe_seconds[name] = probe(*workers[g]);
    }
    speeds_from_probe(&cal);
    std::vector<LaneDesc> pool;
    for (int w = 1; w <= 3; ++w)
      for (int d = 1; d <= 3; ++d) {
        LaneDesc l;
        l.width = w, l.depth = d, l.batch = batch;
        if (!lane_is_valid(l)) continue;
        pool.push_back(l);
        for (int g = 0; g < G; ++g) {
          auto [secs, peak] = time_lane(l, *workers[g], x);
          cal.samples.push_back({l, cal.devices[g].name, secs, peak});
        }
      }
    fit_time_model(&cal);
    TimeReport tr = time_model_report(cal);
    MemoryReport mr = memory_model_report(cal);
    std::printf("calibration: %d lane timings on %d CPU devices (1 thread each), batch %d\n", tr.n, G, batch);
    std::printf("  probe 512x512 FC: %s %.2f ms, %s %.2f ms\n", cal.devices[0].name.c_str(),
                1e3 * cal.probe_seconds[cal.devices[0].name], cal.devices[1].name.c_str(),
                1e3 * cal.probe_seconds[cal.devices[1].name]);
    std::printf("  time model: Pearson r %.3f (paper 0.901), mean |rel. error| %.1f%%\n", tr.pearson,
                100 * tr.mean_abs_rel_error);
    std::printf("  memory bound: %s, mean error %+.1f MiB, max |error| %.1f MiB over %d lanes\n",
                mr.always_upper_bound ? "always an upper bound" : "NOT always an upper bound",
                mr.mean_error_bytes / 1048576.0, mr.max_abs_error_bytes / 1048576.0, mr.n);
    if (!out_path.empty()) std::ofstream(out_path) << calibration_to_json(cal).dump(2) << "\n";

    DeviceSet devs = identical_devices(G);
    for (int g = 0; g < G; ++g) devs.devices[g].speed = cal.devices[g].speed;
    CostModel model = CostModel::calibrated(cal);
    std::printf("\n%-9s %-13s %14s %14s %12s\n", "network", "algo", "pred. ms", "measured ms", "meas/pred");
    Rng pick(7);
    for (int n = 0; n < networks; ++n) {
      std::vector<LaneDesc> lanes;
      ModelSpec spec;
      for (int l = 0; l < n_lanes; ++l) {
        lanes.push_back(pool[pick.below(pool.size())]);
        spec.lanes.push_back({"mlcn1", lanes.back().width, lanes.back().depth});
      }
      PlacementProblem prob = make_problem(lanes, devs, model);
      for (const char* algo : {"random", "greedy", "greedy-ect", "local-search", "exact"}) {
        PlaceOptions po;
        po.seed = 100 + n;
        Placement p = place(prob, algo, po);
        Model m(spec);
        m.init(1);
        LaneRuntime rt(m, {G, 1, p.device, 0, {}});
        std::vector<int32_t> labels(static_cast<size_t>(batch), 3);
        std::vector<double> t;
        for (int it = 0; it < 4; ++it) {
          auto t0 = Clock::now();
          rt.step(x, labels, StepMode::Grad, 0, nullptr);
          if (it > 0) t.push_back(seconds_since(t0));
        }
        double meas = median(t);
        std::printf("%-9d %-13s %14.2f %14.2f %12.2f\n", n, algo, 1e3 * p.makespan, 1e3 * meas, meas / p.makespan);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "placement_measured: error: %s\n", e.what());
    return 1;
  }
}
