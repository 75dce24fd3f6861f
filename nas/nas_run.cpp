// The NAS driver (see nas_run.h): the search directory, the memoised training of generated
// models (nas.jsonl is the memo), resume, and the final summary and best training config.
#include "nas/nas_run.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/check.h"      // defines: MLCN_CHECK, MLCN_FAIL
#include "base/atomic_write.h"         // defines: write_file_atomic
#include "nas/nas_summary.h"        // defines: search_summary
#include "nas/search.h"             // defines: run_search, SearchObserver
#include "nas/train_bridge.h"       // defines: train_config, training_facts
#include "base/json_io.h"           // defines: read_json_file

namespace mlcn {
namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

void write_text(const fs::path& p, const std::string& text) { write_file_atomic(p.string(), text.data(), text.size()); }

std::string train_key(int64_t model, int repeat, int epochs) {
  return "train:" + std::to_string(model) + ":" + std::to_string(repeat) + ":" + std::to_string(epochs);
}

// The key that identifies an event in nas.jsonl, so a resumed search logs nothing twice.
std::string event_key(const json& e) {
  const std::string ev = e.value("event", "");
  if (ev == "model") return "model:" + std::to_string(e.at("id").get<int64_t>());
  if (ev == "train") return train_key(e.at("model"), e.at("repeat"), e.at("epochs"));
  if (ev == "score" || ev == "best") return ev + ":" + std::to_string(e.at("evaluation").get<int64_t>());
  return "";
}

// The last epoch line of an engine run's events.jsonl: (epoch, validation accuracy); (0, 0) if none.
std::pair<int, double> last_epoch(const fs::path& events) {
  std::pair<int, double> out{0, 0.0};
  std::ifstream f(events);
  for (std::string line; std::getline(f, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == "epoch" && j.contains("validation_accuracy"))
      out = {j["epoch"].get<int>(), j["validation_accuracy"].get<double>()};
  }
  return out;
}

class Driver : public SearchObserver {
 public:
  Driver(const NasConfig& cfg, const NasRunOptions& opt) : cfg_(cfg), opt_(opt), out_(opt.out_dir) {
    if (!opt_.trainer) opt_.trainer = train_config;
    shadow_.budget = cfg.search.budget();
    if (cfg.search.strategy == "halving")
      shadow_.plan = halving_plan(cfg.search.epochs, cfg.search.eta, cfg.search.min_epochs, cfg.search.repeats,
                                  shadow_.budget);
  }

  void open() {
    fs::create_directories(out_);
    const fs::path log = out_ / "nas.jsonl";
    if (!opt_.resume) {
      MLCN_CHECK(!fs::exists(log), out_.string() << " already holds a search (nas.jsonl); pass --resume "
                                                 << out_.string() << " or another --out DIR");
      write_text(out_ / "nas_config.json", cfg_.json.dump(2) + "\n");
      write_text(log, "");
      return;
    }
    const fs::path stored = out_ / "nas_config.json";
    MLCN_CHECK(fs::exists(stored), stored.string() << ": no search to resume here");
    MLCN_CHECK(nas_config_from_json(read_json_file(stored.string()), stored.string()).json == cfg_.json,
               stored.string() << ": the search in this directory was started with another config");
    std::ifstream f(log);
    std::string kept, line;
    while (std::getline(f, line)) {
      json e = json::parse(line, nullptr, false);
      if (!e.is_object()) continue;  // a line cut short by the interruption
      kept += line + "\n";
      logged_.insert(event_key(e));
      if (e.value("event", "") == "train") {
        MLCN_CHECK(e.contains("validation_accuracy") && e["validation_accuracy"].is_number(),
                   log.string() << ": a train event without validation_accuracy (a search scored on the test set by an "
                                   "older version); start a new search with another --out DIR");
        trained_[event_key(e)] = e["validation_accuracy"].get<double>();
        train_seconds_ += e.value("seconds", 0.0);
      }
      if (e.value("event", "") == "model") logged_models_[e["id"].get<int64_t>()] = e["lanes"];
    }
    write_text(log, kept);
  }

  double train(const GeneratedModel& m, int repeat, int epochs) {
    const std::string key = train_key(m.id, repeat, epochs);
    auto hit = trained_.find(key);
    if (hit != trained_.end()) return hit->second;
    char name[64];
    std::snprintf(name, sizeof name, "runs/m%04lld-r%d", static_cast<long long>(m.id), repeat);
    const fs::path dir = out_ / name;
    const json config = training_config_json(cfg_, m, repeat, epochs);
    const std::string source = "nas model " + std::to_string(m.id) + " repeat " + std::to_string(repeat);
    auto done = last_epoch(dir / "events.jsonl");
    double acc = done.second, secs = 0;
    if (done.first != epochs) {
      std::string resume;
      if (done.first > 0 && done.first < epochs && fs::exists(dir / "last.safetensors")) resume = dir.string();
      else fs::remove_all(dir);
      json s = opt_.trainer(config, source, dir.string(), resume);
      MLCN_CHECK(s.contains("validation_accuracy"), source << ": the run has no validation split to score it on");
      acc = s["validation_accuracy"].get<double>();
      secs = s.value("seconds", 0.0);
    }
    // A training short of the search's epochs may be resumed for a later rung, and a resumed run
    // whose best epoch is not its last reads best.safetensors at the end: keep it until then (or
    // until the model is retired).
    if (!cfg_.search.keep_checkpoints && epochs >= cfg_.search.epochs) fs::remove(dir / "best.safetensors");
    train_seconds_ += secs;
    trained_[key] = acc;
    append({{"event", "train"}, {"model", m.id}, {"repeat", repeat}, {"epochs", epochs},
            {"seed", config["train"]["seed"]}, {"validation_accuracy", acc}, {"seconds", secs}, {"run_dir", name}});
    return acc;
  }

  void model_generated(const GeneratedModel& m) override {
    models_[m.id] = m;
    ++shadow_.models_generated;
    auto old = logged_models_.find(m.id);
    MLCN_CHECK(old == logged_models_.end() || old->second == lanes_config_json(m.lanes),
               (out_ / "nas.jsonl").string() << ": model " << m.id << " differs from the one this config generates");
    ordered_json j = model_to_json(m, cfg_.space);
    ordered_json e;
    e["event"] = "model";
    for (auto it = j.begin(); it != j.end(); ++it) e[it.key()] = it.value();
    append(json::parse(e.dump()), e.dump());
  }

  void evaluated(const Evaluation& ev, const CurvePoint& c) override {
    shadow_.evaluations.push_back(ev);
    shadow_.curve.push_back(c);
    shadow_.model_epochs = ev.model_epochs;
    shadow_.best_model = c.best_model;
    shadow_.best_score = c.best_score;
    append({{"event", "score"}, {"evaluation", ev.index}, {"model", ev.model}, {"rung", ev.rung},
            {"epochs", ev.epochs}, {"accuracies", ev.accuracies}, {"score", ev.score},
            {"model_epochs", ev.model_epochs}});
    append({{"event", "best"}, {"evaluation", c.evaluation}, {"model_epochs", c.model_epochs},
            {"best_model", c.best_model >= 0 ? json(c.best_model) : json(nullptr)},
            {"best_score", c.best_model >= 0 ? json(c.best_score) : json(nullptr)}});
    write_summary(false);
    if (opt_.progress) {
      const std::string best = c.best_model >= 0
                                   ? "model " + std::to_string(c.best_model) + " " + std::to_string(c.best_score)
                                   : std::string("none yet");
      std::fprintf(stderr, "nas: evaluation %lld: model %lld, %d epoch(s), score %.4f; best %s; %lld/%lld %s\n",
                   static_cast<long long>(ev.index), static_cast<long long>(ev.model), ev.epochs, ev.score,
                   best.c_str(), static_cast<long long>(ev.model_epochs), static_cast<long long>(shadow_.budget),
                   "model-epochs");
    }
  }

  void model_retired(const GeneratedModel& m) override {
    if (cfg_.search.keep_checkpoints) return;
    for (int r = 0; r < cfg_.search.repeats; ++r) {
      char name[64];
      std::snprintf(name, sizeof name, "runs/m%04lld-r%d", static_cast<long long>(m.id), r);
      fs::remove(out_ / name / "last.safetensors");
      fs::remove(out_ / name / "best.safetensors");
    }
  }

  ordered_json finish(const SearchResult& r) {
    shadow_ = r;
    MLCN_CHECK(r.best_model >= 0, "nas: the search ended without a full evaluation");
    json best = training_config_json(cfg_, models_.at(r.best_model), 0, cfg_.search.epochs);
    TrainingFacts c = training_facts(best, "best model " + std::to_string(r.best_model));
    write_text(out_ / "best_config.json", c.resolved.dump(2) + "\n");
    return write_summary(true);
  }

 private:
  void append(const json& e, const std::string& text = "") {
    if (!logged_.insert(event_key(e)).second) return;
    std::ofstream f(out_ / "nas.jsonl", std::ios::app);
    f << (text.empty() ? e.dump() : text) << "\n";
    f.flush();
    MLCN_CHECK(f.good(), (out_ / "nas.jsonl").string() << ": write failed");
  }

  ordered_json write_summary(bool complete) {
    ordered_json s = search_summary(cfg_, shadow_, models_, train_seconds_, complete);
    write_text(out_ / "summary.json", s.dump(2) + "\n");
    return s;
  }

  const NasConfig& cfg_;
  NasRunOptions opt_;
  fs::path out_;
  std::set<std::string> logged_;
  std::map<std::string, double> trained_;
  std::map<int64_t, json> logged_models_;
  std::map<int64_t, GeneratedModel> models_;
  SearchResult shadow_;
  double train_seconds_ = 0;
};

}  // namespace

ordered_json run_nas(const NasConfig& cfg, const NasRunOptions& opt) {
  MLCN_CHECK(!opt.out_dir.empty(), "nas: no output directory");
  ModelGenerator gen(cfg.space);
  Driver d(cfg, opt);
  d.open();
  SearchResult r = run_search(
      cfg.search, gen, [&](const GeneratedModel& m, int rep, int ep) { return d.train(m, rep, ep); }, &d);
  return d.finish(r);
}

NasConfig load_search_config(const std::string& dir) {
  const std::string path = (fs::path(dir) / "nas_config.json").string();
  MLCN_CHECK(fs::exists(path), path << ": no search to resume here");
  return nas_config_from_json(read_json_file(path), path);
}

}  // namespace mlcn
