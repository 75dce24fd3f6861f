// Fig. 13: best-so-far score of the 4x search per iteration, and random against successive
// halving at the same budget of model-epochs. Paper scale: 4x load, 12 GB, 8 buckets, 64
// iterations of 10 epochs x 4 repeats. --scale cpu (default): the reduced CPU scale of
// nas/sweep.h at 4x/32 load with 4 epochs, 2 repeats and 8 iterations (64 model-epochs), so
// halving (eta 2) has rungs of 1, 2 and 4 epochs.
#include <cstdio>
#include <exception>

#include "nas/sweep.h"

using namespace mlcn;

namespace {

// Best full score once `budget` model-epochs were spent (-1: none yet).
double best_at(const nlohmann::ordered_json& curve, int64_t budget) {
  double best = -1;
  for (const auto& p : curve)
    if (p["model_epochs"].get<int64_t>() <= budget && !p["best_score"].is_null()) best = p["best_score"].get<double>();
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    BenchArgs a = parse_bench_args(argc, argv, "fig13_best_so_far",
                                   "usage: fig13_best_so_far [--scale cpu|paper] [--config FILE] [--set key=value ...] "
                                   "[--seed N] [--out DIR]   (run from the repository root)");
    std::vector<std::string> scale = a.paper ? std::vector<std::string>{} : cpu_scale_overrides();
    if (a.paper) {
      scale.push_back("nas.buckets.load=4");
    } else {
      for (const char* o : {"nas.buckets.load=0.125", "nas.epochs=4", "nas.iterations=8"}) scale.push_back(o);
    }
    auto rows = run_sweep(a, scale, {{"random", {"nas.strategy=random"}}, {"halving", {"nas.strategy=halving"}}});
    std::printf("Fig. 13: best-so-far score per iteration (random search)\n%9s %6s %12s %10s %10s\n", "iteration",
                "model", "model_epochs", "score", "best");
    const auto& rs = rows[0].summary;
    for (const auto& p : rs["best_so_far"]) {
      const int64_t i = p["evaluation"].get<int64_t>();
      std::printf("%9lld %6lld %12lld %10.4f %10.4f\n", static_cast<long long>(i + 1),
                  static_cast<long long>(p["model"].get<int64_t>()),
                  static_cast<long long>(p["model_epochs"].get<int64_t>()), p["score"].get<double>(),
                  p["best_score"].get<double>());
    }
    std::printf("\nrandom vs halving at the same budget (%lld model-epochs); halving rungs:",
                static_cast<long long>(rs["budget_model_epochs"].get<int64_t>()));
    const auto& hs = rows[1].summary;
    for (size_t k = 0; k < hs["halving"]["epochs"].size(); ++k)
      std::printf(" %lld models x %d epochs;", static_cast<long long>(hs["halving"]["models"][k].get<int64_t>()),
                  hs["halving"]["epochs"][k].get<int>());
    std::printf("\n%s", sweep_table("strategy", rows).c_str());
    std::printf("\nbest full score after a fraction of the budget (-1: none yet)\n%-10s %8s %8s %8s %8s\n", "strategy",
                "25%", "50%", "75%", "100%");
    for (const auto& r : rows) {
      const int64_t b = r.summary["budget_model_epochs"].get<int64_t>();
      std::printf("%-10s", r.label.c_str());
      for (int q = 1; q <= 4; ++q) std::printf(" %8.4f", best_at(r.summary["best_so_far"], b * q / 4));
      std::printf("\n");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fig13_best_so_far: error: %s\n", e.what());
    return 1;
  }
}
