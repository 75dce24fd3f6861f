// Search strategies over generated models, under one budget of model-epochs (one model
// trained one epoch once = 1; every repeat counts):
//   random   the paper (spec §4.4): models 0, 1, 2, ... of the generator's stream, each trained
//            E epochs R times and scored by the geometric mean of its R validation accuracies, while
//            the budget allows another full evaluation (I x E x R by default: I models).
//   halving  successive halving: rung k trains the best n_k models to e_k epochs, continuing
//            from rung k-1's weights (so rung k costs n_k x (e_k - e_{k-1}) x R); e_last = E and
//            e_k = e_{k+1} / eta (rounded down, at least min_epochs), n_k = n_0 / eta^k. n_0 is
//            the largest number of models whose whole plan fits the budget.
// Evaluation = one model scored at some epochs (R trainings). The best-so-far curve follows
// every evaluation; it tracks the best full (E-epoch) score, so both strategies are judged at
// the same fidelity. Ties rank the lower model id first.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "nas/generator.h"   // defines: ModelGenerator, GeneratedModel
#include "nas/nas_config.h"  // defines: NasSettings

namespace mlcn {

struct Evaluation {
  int64_t index = 0;          // 0-based order of evaluations
  int64_t model = 0;
  int rung = 0;
  int epochs = 0;
  std::vector<double> accuracies;  // (R) validation accuracy of each repeat
  double score = 0;                // geometric mean of accuracies
  int64_t model_epochs = 0;        // budget used once this evaluation is done
};

struct CurvePoint {
  int64_t evaluation = 0;
  int64_t model_epochs = 0;
  int64_t best_model = -1;  // -1 until a full evaluation exists
  double best_score = 0;
};

struct HalvingPlan {
  std::vector<int> epochs;       // e_k, ascending, last = E
  std::vector<int64_t> models;   // n_k
  int64_t model_epochs = 0;      // cost of the whole plan, all repeats
};

struct SearchResult {
  std::vector<Evaluation> evaluations;
  std::vector<CurvePoint> curve;
  int64_t models_generated = 0;
  int64_t model_epochs = 0;
  int64_t budget = 0;
  int64_t best_model = -1;
  double best_score = 0;
  HalvingPlan plan;  // halving only
};

class SearchObserver {
 public:
  virtual ~SearchObserver() = default;
  virtual void model_generated(const GeneratedModel&) {}
  virtual void evaluated(const Evaluation&, const CurvePoint&) {}
  // No further training of this model will happen.
  virtual void model_retired(const GeneratedModel&) {}
};

// Trains model m with repeat r to `epochs` epochs in total (continuing an earlier, shorter
// training of the same model and repeat when there was one); returns the validation accuracy.
using TrainFn = std::function<double(const GeneratedModel& m, int repeat, int epochs)>;

double geometric_mean(const std::vector<double>& v);
// Throws when not even one model fits the budget.
HalvingPlan halving_plan(int epochs, int eta, int min_epochs, int repeats, int64_t budget);

SearchResult run_search(const NasSettings& s, const ModelGenerator& gen, const TrainFn& train,
                        SearchObserver* observer = nullptr);

}  // namespace mlcn
