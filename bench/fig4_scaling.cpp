// Paper Fig. 4: speedup of base (CapsNet, data parallel), mlcn-data and mlcn-model (MLCN
// 8x(w4,d1)) over the 1-device CapsNet, on 1, 2, 4 and 8 devices, at batch 100.
// Measured: 1 process (1 thread), 2 single-thread CPU workers in one process (mlcn-model), and
// 2 single-thread MPI ranks (this executable re-launched under mpirun with --worker). The step
// simulator (sched/step_sim.h) is calibrated from those measurements (lane and head times: the
// 8-lane step split by their FLOPs, checked against the 4-lane step; per-sample and fixed costs
// from batches B and B/2; the MPI link from timed all-reduces) and shows its error on every measured configuration, then predicts 1-8
// CPU ranks, K80-class and H100 devices (their rates and links are assumptions, dist_bench.h).
// Step times of single-thread ranks are their CPU time (dist_bench.h: the machine is shared);
// the wall clock is printed beside them.
// Every row says measured or simulated; the table is printed and written as CSV. The worker also
// times the two ways of feeding the head (docs/distributed.md): an all-gather of the lane outputs
// against a gather to one rank plus a scatter of dL/dv back.
#include <unistd.h>
#if defined(MLCN_WITH_MPI)
#include <mpi.h>
#endif

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "dist_bench.h"

using namespace mlcn;
using namespace mlcn::bench;

namespace {

struct Opts {
  int batch = 100, warmup = 1, iters = 3;
  std::string csv = "fig4_scaling.csv", mpirun = "mpirun", worker;
};

void usage() {
  std::printf(
      "usage: fig4_scaling [--batch B] [--warmup W] [--iters I] [--csv FILE] [--mpirun CMD]\n"
      "  Measures CapsNet and MLCN 8x(w4,d1) training steps on 1 process, 2 CPU workers and 2 MPI ranks\n"
      "  (re-running itself as `CMD --oversubscribe -np 2 fig4_scaling --worker FILE`), calibrates the\n"
      "  step simulator from them and prints measured and simulated speedups for 1, 2, 4, 8 devices.\n");
}

// Under mpirun: the 2-rank steps and the link; rank 0 writes them to `path` as JSON.
int worker(const Opts& o) {
  nlohmann::json j;
  const Link link = measure_link();
  j["link"] = {{"latency_s", link.latency_s}, {"bytes_per_s", link.bytes_per_s}};
  const std::vector<std::pair<std::string, std::pair<ModelSpec, std::string>>> runs = {
      {"base", {capsnet_spec(), "data"}}, {"mlcn-data", {mlcn_spec(8, 4, 1), "data"}},
      {"mlcn-model", {mlcn_spec(8, 4, 1), "model"}}};
  for (const auto& r : runs) {
    StepTiming t = time_step(r.second.first, o.batch, r.second.second, 1, o.warmup, o.iters);
    j[r.first] = {{"seconds", t.seconds}, {"cpu_seconds", t.cpu_seconds}, {"comm_bytes", t.comm_bytes},
                  {"comm_seconds", t.comm_seconds}};
  }
#if defined(MLCN_WITH_MPI)
  {  // the head exchange: (a) all-gather vs (b) gather + scatter, 8 lanes' (B, 10, 1) float32 outputs
    const int n = world().size(), per = 8 * o.batch * 10 / n, reps = 200;
    std::vector<float> mine(per, 1.0f), all(per * n);
    auto median = [&](auto fn) {
      std::vector<double> ts;
      for (int i = 0; i < reps; ++i) {
        MPI_Barrier(MPI_COMM_WORLD);
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ts.begin(), ts.end());
      return ts[ts.size() / 2];
    };
    j["head_exchange"] = {
        {"bytes_per_rank", per * 4},
        {"allgather_s", median([&] { MPI_Allgather(mine.data(), per, MPI_FLOAT, all.data(), per, MPI_FLOAT, MPI_COMM_WORLD); })},
        {"gather_scatter_s", median([&] {
           MPI_Gather(mine.data(), per, MPI_FLOAT, all.data(), per, MPI_FLOAT, 0, MPI_COMM_WORLD);
           MPI_Scatter(all.data(), per, MPI_FLOAT, mine.data(), per, MPI_FLOAT, 0, MPI_COMM_WORLD);
         })}};
  }
#endif
  if (world().rank() == 0) std::ofstream(o.worker) << j.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  DistributedSession session(&argc, &argv);
  Opts o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--batch") o.batch = std::atoi(next().c_str());
    else if (a == "--warmup") o.warmup = std::atoi(next().c_str());
    else if (a == "--iters") o.iters = std::max(1, std::atoi(next().c_str()));
    else if (a == "--csv") o.csv = next();
    else if (a == "--mpirun") o.mpirun = next();
    else if (a == "--worker") o.worker = next();
    else {
      usage();
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (!o.worker.empty()) return worker(o);
  const int B = o.batch, W = o.warmup, I = o.iters;
  std::fprintf(stderr, "measuring 1-process steps...\n");
  const StepTiming caps_t = time_step(capsnet_spec(), B, "model", 1, W, I);
  const StepTiming m8_t = time_step(mlcn_spec(8, 4, 1), B, "model", 1, W, I);
  const double caps = caps_t.cpu_seconds, m8 = m8_t.cpu_seconds;
  const double caps_half = time_step(capsnet_spec(), B / 2, "model", 1, W, I).cpu_seconds;
  const double m8_half = time_step(mlcn_spec(8, 4, 1), B / 2, "model", 1, W, I).cpu_seconds;
  const double m4 = time_step(mlcn_spec(4, 4, 1), B, "model", 1, W, I).cpu_seconds;
  const StepTiming m8_workers = time_step(mlcn_spec(8, 4, 1), B, "model", 2, W, I);
  std::fprintf(stderr, "measuring 2 MPI ranks...\n");
  char self[4096] = {0};
  MLCN_CHECK(readlink("/proc/self/exe", self, sizeof self - 1) > 0, "fig4_scaling: cannot find its own executable");
  const std::string out = "/tmp/fig4_worker_" + std::to_string(getpid()) + ".json";
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
  const std::string cmd = o.mpirun + " --oversubscribe -np 2 " + self + " --worker " + out + " --batch " +
                          std::to_string(B) + " --warmup " + std::to_string(W) + " --iters " + std::to_string(I);
  MLCN_CHECK(std::system(cmd.c_str()) == 0, "fig4_scaling: `" << cmd << "` failed");
  nlohmann::json two;
  std::ifstream(out) >> two;
  std::remove(out.c_str());
  const Link cpu_link{"mpi-loopback (measured)", two["link"]["latency_s"], two["link"]["bytes_per_s"]};

  // Calibration of the simulator from the 1-process measurements.
  // Lanes and head: the 1-process step split by their FLOPs (sched's model); the 4-lane step
  // checks the split (its prediction is printed beside its measurement).
  LaneDesc d;
  d.width = 4, d.batch = B;
  const double lane_f = lane_stats(d).train_flops, head_f = head_stats(d, 8).train_flops;
  const double m8_flops = 8 * lane_f + head_f;
  const double lane = m8 * lane_f / m8_flops, head = m8 * head_f / m8_flops;
  const double m4_pred = 4 * lane + m8 * head_stats(d, 4).train_flops / m8_flops;
  // step(b) = fixed + per_sample * b through (B/2, B); the fixed part (Adam, the decoder's weights) is >= 0.
  const double caps_ps = std::min(caps / B, (caps - caps_half) / (B - B / 2)), caps_fixed = caps - caps_ps * B;
  const double m8_ps = std::min(m8 / B, (m8 - m8_half) / (B - B / 2)), m8_fixed = m8 - m8_ps * B;
  Model cm(capsnet_spec()), mm(mlcn_spec(8, 4, 1));
  const double caps_bytes = 4.0 * cm.num_params(), m8_bytes = 4.0 * mm.num_params();
  const double cpu_rate = m8_flops / m8;  // measured float32 FLOP/s of one single-thread rank

  auto simulate = [&](const std::string& mode, int n, const Link& link, double f) {
    if (mode == "mlcn-model")
      return simulate_model_parallel(std::vector<double>(8, lane * f), std::vector<double>(8, B * 10 * 4.0), head * f, n,
                                     link);
    if (mode == "base") return simulate_data_parallel(caps_fixed * f, caps_ps * f, B, caps_bytes, n, link);
    return simulate_data_parallel(m8_fixed * f, m8_ps * f, B, m8_bytes, n, link);
  };
  const std::map<std::string, double> one = {{"base", caps}, {"mlcn-data", m8}, {"mlcn-model", m8}};
  const std::map<std::string, double> one_wall = {{"base", caps_t.seconds}, {"mlcn-data", m8_t.seconds},
                                                  {"mlcn-model", m8_t.seconds}};
  std::vector<Row> rows;
  // secs: the step time the speedup and efficiency use (CPU time of the busiest rank where
  // measured on ranks, the wall clock for workers of one process and for simulated rows). The
  // communication share is the wall time inside collectives over the wall-clock step.
  auto add = [&](const std::string& mode, const std::string& dev, int n, const std::string& kind, double wall,
                 double secs, double caps1, double self1, double bytes, double comm_s, double sim) {
    rows.push_back({{mode, dev, std::to_string(n), kind, wall > 0 ? num(wall * 1e3, 1) : "", num(secs * 1e3, 1),
                     num(caps1 / secs, 2), num(100 * self1 / (n * secs), 1), num(bytes / 1024, 1),
                     num(100 * comm_s / (wall > 0 ? wall : secs), 1), sim > 0 ? num(sim * 1e3, 1) : "",
                     sim > 0 ? num(100 * (sim - secs) / secs, 1) : ""}});
  };
  for (const auto& [mode, t1] : one)
    add(mode, "cpu-rank", 1, "measured", one_wall.at(mode), t1, caps, t1, 0, 0, simulate(mode, 1, cpu_link, 1).total);
  for (const auto& [mode, t1] : one) {
    const nlohmann::json& m = two[mode];
    const DistStepTime s = simulate(mode, 2, cpu_link, 1);
    add(mode, "cpu-rank (2 MPI ranks)", 2, "measured", m["seconds"], m["cpu_seconds"], caps, t1, m["comm_bytes"],
        m["comm_seconds"], s.total);
  }
  add("mlcn-model", "cpu-worker (1 process, wall)", 2, "measured", m8_workers.seconds, m8_workers.seconds,
      caps_t.seconds, m8_t.seconds, 0, 0, 0);
  for (const SimDevice& dev : sim_devices(cpu_link)) {
    const double f = dev.flops_per_s > 0 ? cpu_rate / dev.flops_per_s : 1.0;
    const double caps_dev = simulate("base", 1, dev.link, f).total;
    for (const auto& [mode, t1] : one) {
      const double self_dev = simulate(mode, 1, dev.link, f).total;
      for (int n : {1, 2, 4, 8}) {
        const DistStepTime s = simulate(mode, n, dev.link, f);
        add(mode, dev.name, n, "simulated", 0, s.total, caps_dev, self_dev, s.comm_bytes, s.comm, 0);
      }
    }
  }
  std::printf("parameters: CapsNet %lld, MLCN 8x(w4,d1) %lld\n", (long long)cm.num_params(), (long long)mm.num_params());
  std::printf("4-lane step: measured %.1f ms, FLOP split predicts %.1f ms\n", m4 * 1e3, m4_pred * 1e3);
  std::printf("calibration: lane %.1f ms, head %.1f ms (MLCN 8x(w4,d1), B %d); CapsNet %.2f ms/sample + %.1f ms; "
              "MLCN %.2f ms/sample + %.1f ms; CPU rank %.2f GFLOP/s; MPI link %.1f us + %.2f GB/s\n",
              lane * 1e3, head * 1e3, B, caps_ps * 1e3, caps_fixed * 1e3, m8_ps * 1e3, m8_fixed * 1e3, cpu_rate / 1e9,
              cpu_link.latency_s * 1e6, cpu_link.bytes_per_s / 1e9);
  if (two.contains("head_exchange"))
    std::printf("head exchange on 2 ranks, %d bytes per rank: all-gather %.1f us, gather + scatter %.1f us (median of 200)\n",
                two["head_exchange"]["bytes_per_rank"].get<int>(), two["head_exchange"]["allgather_s"].get<double>() * 1e6,
                two["head_exchange"]["gather_scatter_s"].get<double>() * 1e6);
  print_and_write("Fig. 4: training-step speedup over the 1-device CapsNet (batch " + std::to_string(B) + ")",
                  {"model", "device", "n", "kind", "wall_ms", "step_ms", "speedup_vs_capsnet1", "efficiency_%", "comm_KiB_per_step",
                   "comm_share_%", "sim_ms", "sim_error_%"},
                  rows, o.csv);
  return 0;
}
