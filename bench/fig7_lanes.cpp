// Paper Fig. 7: model-parallel MLCN scaling by (a) lane width (4 lanes of w x d1), (b) lane depth
// (4 lanes of w2 x d), (c) number of lanes (n lanes of w2 x d1), at batch 100. Measured: the
// 1-process step and the step on 2 single-thread MPI ranks (this executable under mpirun);
// simulated (sched/step_sim.h, the measured 1-process step split over lanes and head by their
// FLOPs): 2 ranks (with its error against the measurement), 8 CPU ranks, 8 K80-class, 8 H100.
// Prints a table and writes CSV; every row says measured or simulated.
#include <cstdlib>

#include "dist_bench.h"

using namespace mlcn;
using namespace mlcn::bench;

int main(int argc, char** argv) {
  DistributedSession session(&argc, &argv);
  int warmup = 1, iters = 3, batch = 100;
  std::string csv = "fig7_lanes.csv", mpirun = "mpirun", worker, cases;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--warmup") warmup = std::atoi(next().c_str());
    else if (a == "--iters") iters = std::max(1, std::atoi(next().c_str()));
    else if (a == "--batch") batch = std::atoi(next().c_str());
    else if (a == "--csv") csv = next();
    else if (a == "--mpirun") mpirun = next();
    else if (a == "--worker") worker = next();
    else if (a == "--cases") cases = next();
    else {
      std::printf("usage: fig7_lanes [--batch B] [--warmup W] [--iters I] [--csv FILE] [--mpirun CMD]\n"
                  "  Model-parallel MLCN by lane width (a), depth (b) and number of lanes (c): measured on 1 process\n"
                  "  and 2 MPI ranks, simulated on 2 and 8 devices.\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (!worker.empty()) return case_worker(worker, cases, warmup, iters);
  std::vector<Case> cs;
  for (int w : {1, 2, 4}) cs.push_back({"a: 4 x (w" + std::to_string(w) + ",d1)", std::vector<LaneSpec>(4, {"mlcn1", w, 1}), batch});
  for (int d : {2, 3}) cs.push_back({"b: 4 x (w2,d" + std::to_string(d) + ")", std::vector<LaneSpec>(4, {"mlcn1", 2, d}), batch});
  for (int n : {2, 8}) cs.push_back({"c: " + std::to_string(n) + " x (w2,d1)", std::vector<LaneSpec>(n, {"mlcn1", 2, 1}), batch});
  std::vector<double> t1;
  for (const Case& c : cs) t1.push_back(time_step(case_spec(c), c.batch, "model", 1, warmup, iters).cpu_seconds);
  Link link;
  const std::vector<StepTiming> t2 = two_rank_steps(mpirun, cs, warmup, iters, &link);
  std::vector<Row> rows;
  for (size_t i = 0; i < cs.size(); ++i) {
    auto [lanes, head] = case_flops(cs[i]);
    for (double f : lanes) head += f;
    const double cpu_rate = head / t1[i];
    const double sim2 = simulate_case(cs[i], t1[i], 2, link).total;
    rows.push_back({{cs[i].label, "cpu-rank", "1", "measured", num(t1[i] * 1e3, 1), "100.0", "0.0", "", ""}});
    rows.push_back({{cs[i].label, "cpu-rank (2 MPI ranks)", "2", "measured", num(t2[i].cpu_seconds * 1e3, 1),
                     num(100 * t1[i] / (2 * t2[i].cpu_seconds), 1), num(t2[i].comm_bytes / 1024, 1), num(sim2 * 1e3, 1),
                     num(100 * (sim2 - t2[i].cpu_seconds) / t2[i].cpu_seconds, 1)}});
    for (const SimDevice& d : sim_devices(link)) {
      const double scale = d.flops_per_s > 0 ? cpu_rate / d.flops_per_s : 1.0;
      const DistStepTime s = simulate_case(cs[i], t1[i], 8, d.link, scale);
      rows.push_back({{cs[i].label, d.name, "8", "simulated", num(s.total * 1e3, 2),
                       num(100 * t1[i] * scale / (8 * s.total), 1), num(s.comm_bytes / 1024, 1), "", ""}});
    }
  }
  print_and_write("Fig. 7: model-parallel MLCN by lane width, depth and count (batch " + std::to_string(batch) +
                      "; step_ms: CPU time of the busiest rank where measured)",
                  {"lanes", "device", "n", "kind", "step_ms", "efficiency_%", "comm_KiB_per_step", "sim_ms", "sim_error_%"},
                  rows, csv);
  return 0;
}
