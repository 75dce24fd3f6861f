// Builds summary.json from a search's evaluations (see nas_summary.h).
#include "nas/nas_summary.h"

#include <algorithm>

namespace mlcn {
using nlohmann::ordered_json;

ordered_json search_summary(const NasConfig& cfg, const SearchResult& r,
                            const std::map<int64_t, GeneratedModel>& models, double train_seconds, bool complete) {
  const NasSettings& s = cfg.search;
  ordered_json j;
  j["complete"] = complete;
  j["strategy"] = s.strategy;
  j["epochs"] = s.epochs;
  j["repeats"] = s.repeats;
  j["budget_model_epochs"] = s.budget();
  j["model_epochs"] = r.model_epochs;
  j["models_generated"] = r.models_generated;
  j["evaluations"] = r.evaluations.size();

  double sum = 0;
  int64_t full = 0;
  std::vector<double> best_acc;
  for (const Evaluation& e : r.evaluations)
    if (e.epochs == s.epochs) {
      sum += e.score;
      ++full;
      if (e.model == r.best_model) best_acc = e.accuracies;
    }
  const double mean = full ? sum / double(full) : 0.0;
  if (r.best_model >= 0) {
    ordered_json b = model_to_json(models.at(r.best_model), cfg.space);
    ordered_json best;
    best["model"] = r.best_model;
    best["score"] = r.best_score;
    best["accuracies"] = best_acc;
    for (auto it = b.begin(); it != b.end(); ++it)
      if (it.key() != "id") best[it.key()] = it.value();
    j["best"] = best;
    j["mean_score"] = mean;
    j["gain_over_mean"] = mean > 0 ? r.best_score / mean - 1 : 0.0;
  } else {
    j["best"] = nullptr;
    j["mean_score"] = nullptr;
    j["gain_over_mean"] = nullptr;
  }

  double lanes = 0, params = 0, step = 0, fill = 0;
  for (const auto& kv : models) {
    const GeneratedModel& m = kv.second;
    lanes += double(m.lanes.size());
    for (const LaneDesc& l : m.lanes) params += double(lane_params(l));
    if (!m.lanes.empty()) params += double(head_params(cfg.space.shape, int(m.lanes.size())));
    step += m.predicted_step_time;
    for (size_t b = 0; b < m.use.size(); ++b)
      fill += m.use[b].load / cfg.space.buckets[b].load_limit / double(m.use.size());
  }
  const double n_models = std::max<double>(1, double(models.size()));
  j["generated"] = {{"mean_lanes", lanes / n_models}, {"mean_parameters", params / n_models},
                    {"mean_predicted_step_time", step / n_models}, {"mean_load_fraction", fill / n_models}};

  ordered_json rungs = ordered_json::array();
  int top_rung = 0;
  for (const Evaluation& e : r.evaluations) top_rung = std::max(top_rung, e.rung);
  for (int k = 0; k <= top_rung && !r.evaluations.empty(); ++k) {
    double rs = 0, rb = 0;
    int64_t n = 0;
    int epochs = 0;
    for (const Evaluation& e : r.evaluations)
      if (e.rung == k) {
        rs += e.score;
        rb = std::max(rb, e.score);
        epochs = e.epochs;
        ++n;
      }
    rungs.push_back(
        {{"rung", k}, {"epochs", epochs}, {"models", n}, {"mean_score", rs / double(n)}, {"best_score", rb}});
  }
  j["rungs"] = rungs;
  if (s.strategy == "halving") j["halving"] = {{"eta", s.eta}, {"epochs", r.plan.epochs}, {"models", r.plan.models}};

  ordered_json ref;
  ref["lanes"] = lanes_config_json(cfg.reference);
  ref["load"] = cfg.reference_load;
  j["reference"] = ref;
  ordered_json buckets = ordered_json::array();
  for (const Bucket& b : cfg.space.buckets)
    buckets.push_back({{"name", b.name}, {"memory_gib", b.memory_bytes / 1073741824.0}, {"load_limit", b.load_limit},
                       {"speed", b.speed}});
  j["buckets"] = buckets;
  j["cost_model"] = cfg.space.cost.name();
  j["train_seconds"] = train_seconds;
  ordered_json curve = ordered_json::array();
  for (const CurvePoint& c : r.curve) {
    const Evaluation& e = r.evaluations.at(size_t(c.evaluation));
    ordered_json p;
    p["evaluation"] = c.evaluation;
    p["model"] = e.model;
    p["epochs"] = e.epochs;
    p["score"] = e.score;
    p["model_epochs"] = c.model_epochs;
    p["best_model"] = c.best_model >= 0 ? ordered_json(c.best_model) : ordered_json(nullptr);
    p["best_score"] = c.best_model >= 0 ? ordered_json(c.best_score) : ordered_json(nullptr);
    curve.push_back(p);
  }
  j["best_so_far"] = curve;
  return j;
}

}  // namespace mlcn
