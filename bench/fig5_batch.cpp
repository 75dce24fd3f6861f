// Paper Fig. 5: model-parallel MLCN 8x(w4,d1) at batch 100, 150, 300 and 600. Measured: the
// 1-process step and the step on 2 single-thread MPI ranks (this executable under mpirun) for
// the batches in --measure; simulated (sched/step_sim.h, the measured 1-process step split over
// lanes and head by their FLOPs, scaled linearly in the batch from the nearest measured batch):
// 2 ranks (with its error where measured), 8 CPU ranks, 8 K80-class and 8 H100 devices.
// Prints a table and writes CSV; every row says measured or simulated.
#include <cstdlib>
#include <sstream>

#include "dist_bench.h"

using namespace mlcn;
using namespace mlcn::bench;

int main(int argc, char** argv) {
  DistributedSession session(&argc, &argv);
  int warmup = 1, iters = 3;
  std::string csv = "fig5_batch.csv", mpirun = "mpirun", worker, cases, measure = "100,150";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--warmup") warmup = std::atoi(next().c_str());
    else if (a == "--iters") iters = std::max(1, std::atoi(next().c_str()));
    else if (a == "--csv") csv = next();
    else if (a == "--mpirun") mpirun = next();
    else if (a == "--measure") measure = next();
    else if (a == "--worker") worker = next();
    else if (a == "--cases") cases = next();
    else {
      std::printf("usage: fig5_batch [--measure 100,150] [--warmup W] [--iters I] [--csv FILE] [--mpirun CMD]\n"
                  "  MLCN 8x(w4,d1) model-parallel at batch 100, 150, 300, 600: the batches in --measure are timed on\n"
                  "  1 process and on 2 MPI ranks; all are simulated on 2 and 8 devices.\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (!worker.empty()) return case_worker(worker, cases, warmup, iters);
  std::vector<Case> measured;
  std::stringstream ms(measure);
  for (std::string b; std::getline(ms, b, ',');)
    measured.push_back({"", std::vector<LaneSpec>(8, LaneSpec{"mlcn1", 4, 1}), std::atoi(b.c_str())});
  std::vector<double> t1;
  for (const Case& c : measured) t1.push_back(time_step(case_spec(c), c.batch, "model", 1, warmup, iters).cpu_seconds);
  Link link;
  const std::vector<StepTiming> t2 = two_rank_steps(mpirun, measured, warmup, iters, &link);
  std::vector<Row> rows;
  const std::vector<SimDevice> devs = sim_devices(link);
  const double cpu_rate = [&] {
    auto [lanes, head] = case_flops(measured[0]);
    for (double f : lanes) head += f;
    return head / t1[0];
  }();
  for (int B : {100, 150, 300, 600}) {
    size_t near = 0;  // the nearest measured batch calibrates this one
    for (size_t i = 0; i < measured.size(); ++i)
      if (std::abs(measured[i].batch - B) < std::abs(measured[near].batch - B)) near = i;
    const Case c{"", measured[near].lanes, B};
    const double one = t1[near] * B / measured[near].batch;
    const bool here = measured[near].batch == B;
    if (here) {
      const StepTiming& m = t2[near];
      const double sim = simulate_case(c, one, 2, link).total;
      rows.push_back({{std::to_string(B), "cpu-rank", "1", "measured", num(one * 1e3, 1), "100.0", "0.0", "", ""}});
      rows.push_back({{std::to_string(B), "cpu-rank (2 MPI ranks)", "2", "measured", num(m.cpu_seconds * 1e3, 1),
                       num(100 * one / (2 * m.cpu_seconds), 1), num(m.comm_bytes / 1024, 1), num(sim * 1e3, 1),
                       num(100 * (sim - m.cpu_seconds) / m.cpu_seconds, 1)}});
    }
    for (const SimDevice& d : devs) {
      const double scale = d.flops_per_s > 0 ? cpu_rate / d.flops_per_s : 1.0;
      for (int n : {2, 8}) {
        const DistStepTime s = simulate_case(c, one, n, d.link, scale);
        rows.push_back({{std::to_string(B), d.name, std::to_string(n), "simulated", num(s.total * 1e3, 2),
                         num(100 * one * scale / (n * s.total), 1), num(s.comm_bytes / 1024, 1), "", ""}});
      }
    }
  }
  print_and_write("Fig. 5: model-parallel MLCN 8x(w4,d1) by batch size (step_ms: CPU time of the busiest rank where measured)",
                  {"batch", "device", "n", "kind", "step_ms", "efficiency_%", "comm_KiB_per_step", "sim_ms", "sim_error_%"},
                  rows, csv);
  return 0;
}
