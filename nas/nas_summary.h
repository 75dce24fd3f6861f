// summary.json of a search: what the search found so far, built from its evaluations and the
// generated models (see nas_run.h for the directory layout).
#pragma once
#include <cstdint>
#include <map>

#include <nlohmann/json.hpp>  // defines: nlohmann::ordered_json

#include "nas/generator.h"   // defines: GeneratedModel
#include "nas/nas_config.h"  // defines: NasConfig
#include "nas/search.h"      // defines: SearchResult

namespace mlcn {

// Keys: complete, strategy, epochs, repeats, budget_model_epochs, model_epochs,
// models_generated, evaluations, best {model, score, accuracies, lanes, placement, buckets,
// load, parameters, predicted_step_time}, mean_score (full evaluations), gain_over_mean
// (best / mean - 1), generated {mean_lanes, mean_parameters, mean_predicted_step_time,
// mean_load_fraction} (over every generated model), rungs [{rung, epochs, models, mean_score,
// best_score}], halving {eta, epochs, models} (halving only), reference {lanes, load},
// buckets [{name, memory_gib, load_limit, speed}], cost_model, train_seconds,
// best_so_far [{evaluation, model, epochs, score (this evaluation's), model_epochs,
// best_model, best_score (best full score so far; null before the first)}].
nlohmann::ordered_json search_summary(const NasConfig& cfg, const SearchResult& r,
                                      const std::map<int64_t, GeneratedModel>& models, double train_seconds,
                                      bool complete);

}  // namespace mlcn
