// Search strategies with a synthetic accuracy (no training): random's budget, scores and
// curve; the halving plan and its rungs at the same budget; continuation of trainings.
#include <catch2/catch.hpp>

#include <map>

#include "nas/search.h"

using namespace mlcn;

namespace {

NasConfig small_space(const std::string& strategy, int iterations, int epochs, int repeats) {
  return parse_nas_config(R"({"nas": {"buckets": {"count": 2, "memory_gib": 1, "load": 0.5}}})", "test",
                          {"nas.strategy=" + strategy, "nas.iterations=" + std::to_string(iterations),
                           "nas.epochs=" + std::to_string(epochs), "nas.repeats=" + std::to_string(repeats)});
}

// A made-up accuracy: a per-model quality, rising with epochs, a little noise per repeat.
double fake_accuracy(const GeneratedModel& m, int repeat, int epochs) {
  double q = 0.3 + 0.6 * double(splitmix64(uint64_t(m.id) * 77 + 5) % 1000) / 1000.0;
  return q * double(epochs) / (epochs + 1.0) + 0.001 * repeat;
}

}  // namespace

TEST_CASE("geometric mean", "[nas][search]") {
  CHECK(geometric_mean({0.5, 0.5}) == Approx(0.5));
  CHECK(geometric_mean({0.25, 1.0}) == Approx(0.5));
  CHECK(geometric_mean({0.9, 0.0}) == 0);
}

TEST_CASE("random search: I models, E epochs, R repeats, geometric-mean scores, best-so-far", "[nas][search]") {
  NasConfig c = small_space("random", 9, 3, 2);
  ModelGenerator gen(c.space);
  int calls = 0;
  SearchResult r = run_search(c.search, gen, [&](const GeneratedModel& m, int rep, int ep) {
    ++calls;
    CHECK(ep == 3);
    return fake_accuracy(m, rep, ep);
  });
  CHECK(calls == 18);
  CHECK(r.models_generated == 9);
  REQUIRE(r.evaluations.size() == 9);
  CHECK(r.model_epochs == 9 * 3 * 2);
  CHECK(r.model_epochs == r.budget);
  double best = 0;
  int64_t best_id = -1;
  for (size_t i = 0; i < r.evaluations.size(); ++i) {
    const Evaluation& e = r.evaluations[i];
    CHECK(e.model == int64_t(i));
    REQUIRE(e.accuracies.size() == 2);
    CHECK(e.score == Approx(std::sqrt(e.accuracies[0] * e.accuracies[1])));
    if (e.score > best) best = e.score, best_id = e.model;
    CHECK(r.curve[i].best_score == Approx(best));
    CHECK(r.curve[i].best_model == best_id);
    CHECK(r.curve[i].model_epochs == int64_t(i + 1) * 6);
  }
  CHECK(r.best_model == best_id);
  CHECK(r.best_score == Approx(best));
}

TEST_CASE("halving plan: rungs of E / eta^k epochs, as many models as the budget allows", "[nas][search]") {
  auto cost = [](const HalvingPlan& p, int64_t n0, int eta, int R) {
    int64_t c = 0, n = n0, prev = 0;
    for (int e : p.epochs) {
      c += n * (e - prev) * R;
      prev = e;
      n = std::max<int64_t>(1, n / eta);
    }
    return c;
  };
  HalvingPlan p = halving_plan(10, 2, 1, 4, 64 * 10 * 4);
  CHECK(p.epochs == std::vector<int>{1, 2, 5, 10});
  CHECK(p.model_epochs <= 64 * 10 * 4);
  CHECK(p.model_epochs == cost(p, p.models[0], 2, 4));
  CHECK(cost(p, p.models[0] + 1, 2, 4) > 64 * 10 * 4);
  CHECK(p.models[0] > 64);  // more models seen than random's 64 at the same budget
  CHECK(p.models[1] == p.models[0] / 2);

  HalvingPlan q = halving_plan(10, 3, 2, 1, 100);
  CHECK(q.epochs == std::vector<int>{3, 10});
  HalvingPlan one = halving_plan(1, 2, 1, 2, 10);
  CHECK(one.epochs == std::vector<int>{1});
  CHECK(one.models == std::vector<int64_t>{5});
  CHECK_THROWS(halving_plan(10, 2, 1, 1, 9));
}

TEST_CASE("halving search: best 1/eta continue, trainings continue, same budget as random", "[nas][search]") {
  NasConfig c = small_space("halving", 6, 4, 2);  // budget 6 x 4 x 2 = 48 model-epochs
  ModelGenerator gen(c.space);
  std::map<std::pair<int64_t, int>, int> reached;  // (model, repeat) -> epochs trained so far
  int64_t spent = 0;
  SearchResult r = run_search(c.search, gen, [&](const GeneratedModel& m, int rep, int ep) {
    int& done = reached[{m.id, rep}];
    CHECK(ep > done);
    spent += ep - done;
    done = ep;
    return fake_accuracy(m, rep, ep);
  });
  const HalvingPlan& p = r.plan;
  REQUIRE(p.epochs == std::vector<int>{1, 2, 4});
  CHECK(r.model_epochs == p.model_epochs);
  CHECK(spent == r.model_epochs);
  CHECK(r.model_epochs <= 48);
  CHECK(r.models_generated == p.models[0]);
  CHECK(r.models_generated > 6);
  std::map<int, std::vector<Evaluation>> rungs;
  for (const Evaluation& e : r.evaluations) rungs[e.rung].push_back(e);
  REQUIRE(rungs.size() == 3);
  for (int k = 0; k < 3; ++k) {
    CHECK(int64_t(rungs[k].size()) == p.models[size_t(k)]);
    for (const Evaluation& e : rungs[k]) CHECK(e.epochs == p.epochs[size_t(k)]);
  }
  for (int k = 0; k + 1 < 3; ++k) {  // survivors are the top scores of the rung below
    auto below = rungs[k];
    std::stable_sort(below.begin(), below.end(),
                     [](const Evaluation& a, const Evaluation& b) { return a.score > b.score; });
    std::vector<int64_t> top, next;
    for (size_t i = 0; i < rungs[k + 1].size(); ++i) {
      top.push_back(below[i].model);
      next.push_back(rungs[k + 1][i].model);
    }
    std::sort(top.begin(), top.end());
    std::sort(next.begin(), next.end());
    CHECK(top == next);
  }
  for (const CurvePoint& cp : r.curve)
    if (cp.evaluation < int64_t(rungs[0].size() + rungs[1].size())) CHECK(cp.best_model == -1);
  double best = 0;
  for (const Evaluation& e : rungs[2]) best = std::max(best, e.score);
  CHECK(r.best_score == best);
}
