// Shared by the distributed benchmarks (fig4_scaling, fig5_batch, fig7_lanes): timing one
// training step of a model on one process or across the ranks of mpirun (the benchmark re-runs
// itself under `mpirun -np 2 ... --worker`), the MPI link calibration, the FLOP-proportional
// model-parallel simulation of a case, the devices the simulator predicts (assumptions written in
// docs/results.md), and the table/CSV output where every row says `measured` or `simulated`.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/comm/comm.h"
#include "engine/runtime/dist_runtime.h"
#include "sched/lane_model.h"
#include "sched/step_sim.h"

namespace mlcn::bench {

inline ModelSpec capsnet_spec() {
  ModelSpec s;
  s.type = "capsnet";
  return s;
}

inline ModelSpec mlcn_spec(int lanes, int width, int depth) {
  ModelSpec s;
  for (int l = 0; l < lanes; ++l) s.lanes.push_back({"mlcn1", width, depth});
  return s;
}

inline double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct StepTiming {
  double seconds = 0;       // median step, wall clock
  double cpu_seconds = 0;   // median step, CPU time of the busiest rank (see below)
  double comm_bytes = 0;  // per step and rank: lane outputs received + gradients all-reduced
  double comm_seconds = 0;  // per step inside collectives
};

// Median seconds of one Train step (after `warmup` steps) of `spec` at batch B: one process
// with `cpu_devices` single-thread workers (world size 1), or the ranks of `world` in `mode`.
// Besides the wall clock, the process CPU time of the step on the busiest rank: on a machine
// shared with other jobs the wall clock grows with the load, the CPU time of a single-thread
// rank much less. OpenMPI polls while it waits, so a rank waiting for a slower one counts the
// wait as CPU time (as an idle core would); with several workers in one process the CPU time
// adds up the workers and is not a step time.
inline StepTiming time_step(const ModelSpec& spec, int B, const std::string& mode, int cpu_devices, int warmup, int iters) {
  Model m(spec);
  m.init(1);
  RuntimeOptions o;
  o.threads_per_device = 1;
  for (int d = 0; d < cpu_devices; ++d) o.devices.push_back(Device::cpu(d));
  DistRuntime rt(m, o, {mode, 0, {}}, world());
  Rng r(3);
  Tensor x = Tensor::empty({B, 28, 28, 1});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, r.uniform());
  std::vector<int32_t> labels;
  for (int b = 0; b < B; ++b) labels.push_back(static_cast<int32_t>(r.below(10)));
  std::vector<double> t, cpu;
  for (int i = 0; i < warmup + iters; ++i) {
    world().barrier();
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = process_cpu_seconds();
    rt.step(x, labels, StepMode::Train, 1e-3, nullptr);
    const double c1 = process_cpu_seconds();
    world().barrier();
    if (i < warmup) continue;
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    double busiest = 0;
    for (int64_t ns : world().allgather_int(static_cast<int64_t>((c1 - c0) * 1e9))) busiest = std::max(busiest, ns * 1e-9);
    cpu.push_back(busiest);
  }
  std::sort(t.begin(), t.end());
  std::sort(cpu.begin(), cpu.end());
  const CommStats& c = rt.stats();
  const double n = double(std::max<int64_t>(c.steps, 1));
  return {t[t.size() / 2], cpu[cpu.size() / 2], double(c.exchange_bytes + c.allreduce_bytes) / n, c.seconds / n};
}

// Latency and bandwidth of the world's all-reduce (ring model t = 2 (n-1) (lat + s/n / bw)),
// fitted by least squares over messages of 4 KiB .. 4 MiB.
inline Link measure_link(int reps = 7) {
  std::vector<double> xs, ys;
  const int n = world().size();
  for (int64_t floats : {1024, 16384, 262144, 1048576}) {
    Tensor t = Tensor::zeros({floats});
    std::vector<double> ts;
    for (int i = 0; i < reps; ++i) {
      world().barrier();
      const auto t0 = std::chrono::steady_clock::now();
      world().allreduce_sum(t);
      ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ts.begin(), ts.end());
    xs.push_back(double(floats) * 4 / n);  // bytes per message
    ys.push_back(ts[ts.size() / 2] / (2.0 * (n - 1)));
  }
  double mx = 0, my = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < xs.size(); ++i) mx += xs[i] / xs.size(), my += ys[i] / ys.size();
  for (size_t i = 0; i < xs.size(); ++i) sxx += (xs[i] - mx) * (xs[i] - mx), sxy += (xs[i] - mx) * (ys[i] - my);
  const double slope = std::max(sxy / sxx, 1e-15);
  return {"mpi-loopback (measured)", std::max(0.0, my - slope * mx), 1.0 / slope};
}

// A device the simulator predicts: its sustained float32 rate relative to the measured CPU rank
// comes from `flops_per_s` (an assumption) against the CPU's measured rate; its link is `link`.
struct SimDevice {
  std::string name;
  double flops_per_s = 0;  // 0: the measured CPU rank itself
  Link link;
};

// The devices of the predictions; the figures are assumptions (docs/results.md, "Assumptions").
inline std::vector<SimDevice> sim_devices(const Link& cpu_link) {
  return {{"cpu-rank", 0, cpu_link},
          // K80 (one GK210 die, as the paper counts GPUs): 4.4 TFLOP/s fp32 boost per die, 35% sustained;
          // PCIe 3.0 x16 inside a node, EDR InfiniBand between: 10 GB/s, 10 us per message (MPI).
          {"k80", 4.37e12 * 0.35, {"pcie3/ib-edr (assumed)", 10e-6, 10e9}},
          // H100 SXM: 67 TFLOP/s fp32, 40% sustained; NVLink 4 through NVSwitch, NCCL: 350 GB/s
          // per direction achieved, 8 us per ring step.
          {"h100", 67e12 * 0.40, {"nvlink4 (assumed)", 8e-6, 350e9}}};
}

// One output row: printed as a table line and kept for the CSV.
struct Row {
  std::vector<std::string> cells;
};

inline void print_and_write(const std::string& title, const std::vector<std::string>& header, const std::vector<Row>& rows,
                            const std::string& csv) {
  std::printf("%s\n", title.c_str());
  std::vector<size_t> w(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    w[c] = header[c].size();
    for (const Row& r : rows) w[c] = std::max(w[c], r.cells[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < cells.size(); ++c) std::printf("%s%-*s", c ? " | " : "| ", int(w[c]), cells[c].c_str());
    std::printf(" |\n");
  };
  line(header);
  for (size_t c = 0; c < header.size(); ++c) std::printf("%s%s", c ? "-|-" : "|-", std::string(w[c], '-').c_str());
  std::printf("-|\n");
  for (const Row& r : rows) line(r.cells);
  // RFC 4180: a cell with a comma or a quote (fig7's "4 x (w2,d1)") is quoted, its quotes doubled.
  auto cell = [](const std::string& v) {
    if (v.find_first_of(",\"\n") == std::string::npos) return v;
    std::string q = "\"";
    for (char ch : v) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::ofstream f(csv);
  for (size_t c = 0; c < header.size(); ++c) f << (c ? "," : "") << cell(header[c]);
  f << "\n";
  for (const Row& r : rows) {
    for (size_t c = 0; c < r.cells.size(); ++c) f << (c ? "," : "") << cell(r.cells[c]);
    f << "\n";
  }
  std::printf("(CSV: %s)\n", csv.c_str());
}

inline std::string num(double v, int prec = 3) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace mlcn::bench

namespace mlcn::bench {

// One configuration of fig5_batch / fig7_lanes: an MLCN of lanes `lanes` at batch B.
struct Case {
  std::string label;
  std::vector<LaneSpec> lanes;
  int batch = 100;
};

inline ModelSpec case_spec(const Case& c) {
  ModelSpec s;
  s.lanes = c.lanes;
  return s;
}

// The lanes' and the head's training FLOPs (sched's model) at the case's batch.
inline std::pair<std::vector<double>, double> case_flops(const Case& c) {
  std::vector<double> lanes;
  LaneDesc d;
  for (const LaneSpec& l : c.lanes) {
    d.type = l.type, d.width = l.width, d.depth = l.depth, d.batch = c.batch;
    lanes.push_back(lane_stats(d).train_flops);
  }
  return {lanes, head_stats(d, static_cast<int>(c.lanes.size())).train_flops};
}

// Model-parallel simulation of a case on n devices, its 1-device step t1 split over the lanes
// and the head in proportion to their FLOPs (sched's lane calibration), `rate` scaling it.
inline DistStepTime simulate_case(const Case& c, double t1, int n, const Link& link, double scale = 1.0) {
  auto [lanes, head] = case_flops(c);
  double total = head;
  for (double f : lanes) total += f;
  std::vector<double> secs, bytes;
  for (size_t l = 0; l < lanes.size(); ++l) {
    secs.push_back(t1 * scale * lanes[l] / total);
    bytes.push_back(double(c.batch) * 10 * 4);  // (B, classes, 1) float32 per mlcn lane
  }
  return simulate_model_parallel(secs, bytes, t1 * scale * head / total, n, link);
}

inline std::string cases_arg(const std::vector<Case>& cs) {
  std::string s;
  for (const Case& c : cs) {
    s += (s.empty() ? "" : ";") + std::to_string(c.batch);
    for (const LaneSpec& l : c.lanes) s += "," + std::to_string(l.width) + "x" + std::to_string(l.depth);
  }
  return s;
}

inline std::vector<Case> parse_cases(const std::string& s) {
  std::vector<Case> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(';', i);
    if (j == std::string::npos) j = s.size();
    std::string part = s.substr(i, j - i);
    Case c;
    size_t k = part.find(',');
    c.batch = std::atoi(part.substr(0, k).c_str());
    while (k != std::string::npos) {
      size_t e = part.find(',', k + 1);
      std::string lane = part.substr(k + 1, e == std::string::npos ? std::string::npos : e - k - 1);
      c.lanes.push_back({"mlcn1", std::atoi(lane.c_str()), std::atoi(lane.substr(lane.find('x') + 1).c_str())});
      k = e;
    }
    out.push_back(c);
    i = j + 1;
  }
  return out;
}

// The worker side of two_rank_steps (this executable under mpirun): the link, then every case
// model-parallel on the world's ranks; rank 0 writes them to `out` as JSON.
inline int case_worker(const std::string& out, const std::string& cases, int warmup, int iters) {
  nlohmann::json j;
  const Link link = measure_link();
  j["link"] = {link.latency_s, link.bytes_per_s};
  for (const Case& c : parse_cases(cases)) {
    StepTiming t = time_step(case_spec(c), c.batch, "model", 1, warmup, iters);
    j["cases"].push_back({t.seconds, t.cpu_seconds, t.comm_bytes, t.comm_seconds});
  }
  if (world().rank() == 0) std::ofstream(out) << j.dump() << "\n";
  return 0;
}

// Runs `self --worker FILE --cases ...` under `mpirun -np 2` and returns, per case, the
// model-parallel step on 2 ranks (busiest rank's CPU time, wall clock, communication), and the link.
inline std::vector<StepTiming> two_rank_steps(const std::string& mpirun, const std::vector<Case>& cs, int warmup,
                                              int iters, Link* link) {
  char self[4096] = {0};
  MLCN_CHECK(readlink("/proc/self/exe", self, sizeof self - 1) > 0, "cannot find this benchmark's executable");
  const std::string out = "/tmp/mlcn_bench_worker_" + std::to_string(getpid()) + ".json";
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
  const std::string cmd = mpirun + " --oversubscribe -np 2 " + self + " --worker " + out + " --cases '" + cases_arg(cs) +
                          "' --warmup " + std::to_string(warmup) + " --iters " + std::to_string(iters);
  MLCN_CHECK(std::system(cmd.c_str()) == 0, "`" << cmd << "` failed");
  nlohmann::json j;
  std::ifstream(out) >> j;
  std::remove(out.c_str());
  *link = {"mpi-loopback (measured)", j["link"][0], j["link"][1]};
  std::vector<StepTiming> r;
  for (const auto& c : j["cases"]) r.push_back({c[0], c[1], c[2], c[3]});
  return r;
}

}  // namespace mlcn::bench
