// The random and successive-halving strategies (see search.h).
#include "nas/search.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL

namespace mlcn {

double geometric_mean(const std::vector<double>& v) {
  MLCN_CHECK(!v.empty(), "geometric mean of no values");
  double log_sum = 0;
  for (double x : v) {
    MLCN_CHECK(x >= 0 && std::isfinite(x), "geometric mean: accuracy " << x << " is not in [0, 1]");
    if (x == 0) return 0;
    log_sum += std::log(x);
  }
  return std::exp(log_sum / double(v.size()));
}

HalvingPlan halving_plan(int epochs, int eta, int min_epochs, int repeats, int64_t budget) {
  MLCN_CHECK(epochs >= 1 && eta >= 2 && min_epochs >= 1 && repeats >= 1,
             "halving plan: epochs, min_epochs, repeats must be >= 1 and eta >= 2");
  HalvingPlan p;
  for (int e = epochs; e >= min_epochs; e /= eta) p.epochs.insert(p.epochs.begin(), e);
  auto cost_of = [&](int64_t n0, std::vector<int64_t>* models) {
    int64_t cost = 0, n = n0, prev = 0;
    models->clear();
    for (int e : p.epochs) {
      models->push_back(n);
      cost += n * (e - prev) * repeats;
      prev = e;
      n = std::max<int64_t>(1, n / eta);
    }
    return cost;
  };
  std::vector<int64_t> models;
  MLCN_CHECK(cost_of(1, &models) <= budget, "halving: a budget of " << budget << " model-epochs is below one full "
                                                                    << "evaluation (" << cost_of(1, &models) << ")");
  int64_t lo = 1, hi = 2;
  while (cost_of(hi, &models) <= budget) hi *= 2;
  while (hi - lo > 1) {  // cost is non-decreasing in n0
    int64_t mid = lo + (hi - lo) / 2;
    (cost_of(mid, &models) <= budget ? lo : hi) = mid;
  }
  p.model_epochs = cost_of(lo, &p.models);
  return p;
}

namespace {

// Shared bookkeeping of both strategies: budget, evaluations, the best-so-far curve.
struct Run {
  const NasSettings& s;
  const TrainFn& train;
  SearchObserver* obs;
  SearchResult r;

  Evaluation evaluate(const GeneratedModel& m, int rung, int epochs, int prev_epochs) {
    Evaluation e;
    e.index = int64_t(r.evaluations.size());
    e.model = m.id;
    e.rung = rung;
    e.epochs = epochs;
    for (int k = 0; k < s.repeats; ++k) {
      double acc = train(m, k, epochs);
      MLCN_CHECK(acc >= 0 && acc <= 1, "model " << m.id << " repeat " << k << ": test accuracy " << acc
                                                << " is not in [0, 1]");
      e.accuracies.push_back(acc);
      r.model_epochs += epochs - prev_epochs;
    }
    e.score = geometric_mean(e.accuracies);
    e.model_epochs = r.model_epochs;
    if (epochs == s.epochs && (r.best_model < 0 || e.score > r.best_score)) {
      r.best_model = m.id;
      r.best_score = e.score;
    }
    CurvePoint c{e.index, e.model_epochs, r.best_model, r.best_score};
    r.evaluations.push_back(e);
    r.curve.push_back(c);
    if (obs) obs->evaluated(e, c);
    return e;
  }

  void generated(const GeneratedModel& m) {
    ++r.models_generated;
    if (obs) obs->model_generated(m);
  }
  void retired(const GeneratedModel& m) {
    if (obs) obs->model_retired(m);
  }
};

void random_search(Run& run, const ModelGenerator& gen) {
  const int64_t full = int64_t(run.s.epochs) * run.s.repeats;
  for (int64_t id = 0; run.r.model_epochs + full <= run.r.budget; ++id) {
    GeneratedModel m = gen.generate(run.s.seed, id);
    run.generated(m);
    run.evaluate(m, 0, run.s.epochs, 0);
    run.retired(m);
  }
}

void halving_search(Run& run, const ModelGenerator& gen) {
  const HalvingPlan& plan = run.r.plan;
  std::vector<GeneratedModel> alive;
  for (int64_t id = 0; id < plan.models[0]; ++id) {
    alive.push_back(gen.generate(run.s.seed, id));
    run.generated(alive.back());
  }
  int prev = 0;
  for (size_t k = 0; k < plan.epochs.size(); ++k) {
    std::vector<std::pair<double, size_t>> ranked;  // (score, index in alive)
    for (size_t i = 0; i < alive.size(); ++i)
      ranked.push_back({run.evaluate(alive[i], int(k), plan.epochs[k], prev).score, i});
    prev = plan.epochs[k];
    if (k + 1 == plan.epochs.size()) break;
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    const size_t keep = size_t(std::min<int64_t>(plan.models[k + 1], int64_t(alive.size())));
    std::vector<GeneratedModel> next;
    for (size_t i = 0; i < ranked.size(); ++i) {
      if (i < keep) next.push_back(alive[ranked[i].second]);
      else run.retired(alive[ranked[i].second]);
    }
    alive = std::move(next);
  }
  for (const GeneratedModel& m : alive) run.retired(m);
}

}  // namespace

SearchResult run_search(const NasSettings& s, const ModelGenerator& gen, const TrainFn& train,
                        SearchObserver* observer) {
  Run run{s, train, observer, {}};
  run.r.budget = s.budget();
  if (s.strategy == "random") {
    random_search(run, gen);
  } else if (s.strategy == "halving") {
    run.r.plan = halving_plan(s.epochs, s.eta, s.min_epochs, s.repeats, run.r.budget);
    halving_search(run, gen);
  } else {
    MLCN_FAIL("nas.strategy must be random or halving, got '" << s.strategy << "'");
  }
  return run.r;
}

}  // namespace mlcn
