// NAS config: defaults, strict merging of the "nas" section, the buckets, the reference load,
// validation of the training sections through the engine's own config parser, and the
// training config of each generated model.
#include "nas/nas_config.h"

#include "base/check.h"    // defines: MLCN_CHECK, MLCN_FAIL
#include "base/json_io.h"          // defines: merge_strict, apply_set_overrides, read_json_file
#include "nas/train_bridge.h"   // defines: training_facts, training_defaults

namespace mlcn {
using nlohmann::json;

const json& nas_defaults() {
  static const json d = json::parse(R"({
    "strategy": "random", "iterations": 64, "epochs": 10, "repeats": 4, "seed": 1,
    "budget_model_epochs": 0, "halving": {"eta": 2, "min_epochs": 1},
    "lane_type": "mlcn1", "width": [1, 5], "depth": [1, 5],
    "cost_model": "paper", "flops_per_speed": 1e12,
    "memory": {"grad_factor": 1.0, "overhead_bytes": 0.0},
    "reference": {"lanes": 4, "type": "mlcn1", "width": 2, "depth": 4},
    "load_scope": "per-bucket",
    "buckets": {"count": 8, "memory_gib": 12.0, "load": 8.0, "speed": 1.0},
    "keep_checkpoints": false
  })");
  return d;
}

namespace {

constexpr double kGiB = 1073741824.0;

double positive(const json& v, const std::string& key, const std::string& src) {
  MLCN_CHECK(v.is_number() && v.get<double>() > 0, src << ": " << key << " must be a number > 0, got " << v.dump());
  return v.get<double>();
}

void range(const json& v, const std::string& key, const std::string& src, int* lo, int* hi) {
  MLCN_CHECK(v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer(),
             src << ": " << key << " must be a list [min, max] of two integers, got " << v.dump());
  *lo = v[0].get<int>();
  *hi = v[1].get<int>();
  MLCN_CHECK(*lo >= 1 && *lo <= *hi && *hi <= 64,
             src << ": " << key << " must satisfy 1 <= min <= max <= 64, got " << v.dump());
}

// Buckets with their load given as a multiple of the reference load (converted later).
std::vector<Bucket> parse_buckets(const json& b, const std::string& src) {
  std::vector<Bucket> out;
  if (b.is_object()) {
    const json& c = b["count"];
    MLCN_CHECK(c.is_number_integer() && c.get<int64_t>() >= 1 && c.get<int64_t>() <= 4096,
               src << ": nas.buckets.count must be an integer in 1..4096, got " << c.dump());
    const double mem = positive(b["memory_gib"], "nas.buckets.memory_gib", src) * kGiB;
    const double load = positive(b["load"], "nas.buckets.load", src);
    const double speed = positive(b["speed"], "nas.buckets.speed", src);
    for (int i = 0; i < c.get<int>(); ++i) out.push_back(Bucket{"bucket" + std::to_string(i), mem, load, speed});
    return out;
  }
  MLCN_CHECK(!b.empty(), src << ": nas.buckets must list at least one bucket");
  for (size_t i = 0; i < b.size(); ++i) {
    const std::string key = "nas.buckets[" + std::to_string(i) + "]";
    MLCN_CHECK(b[i].is_object(), src << ": " << key << " must be an object {name, memory_gib, load, speed}");
    Bucket k{"bucket" + std::to_string(i), 0, 0, 1};
    for (auto it = b[i].begin(); it != b[i].end(); ++it) {
      if (it.key() == "name") {
        MLCN_CHECK(it->is_string(), src << ": " << key << ".name must be a string");
        k.name = it->get<std::string>();
      } else if (it.key() == "memory_gib") {
        k.memory_bytes = positive(*it, key + ".memory_gib", src) * kGiB;
      } else if (it.key() == "load") {
        k.load_limit = positive(*it, key + ".load", src);
      } else if (it.key() == "speed") {
        k.speed = positive(*it, key + ".speed", src);
      } else {
        MLCN_FAIL(src << ": unknown config key '" << key << "." << it.key() << "'");
      }
    }
    MLCN_CHECK(k.memory_bytes > 0 && k.load_limit > 0, src << ": " << key << " needs memory_gib and load");
    out.push_back(k);
  }
  return out;
}

int int_in(const json& v, const std::string& key, int lo, int hi, const std::string& src) {
  MLCN_CHECK(v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi,
             src << ": " << key << " must be an integer in " << lo << ".." << hi << ", got " << v.dump());
  return v.get<int>();
}

// The NAS-owned training keys, rejected in the NAS config.
void reject_owned(const json& user, const std::string& src) {
  auto has = [&](const char* sec, const char* key) {
    return user.contains(sec) && user[sec].is_object() && user[sec].contains(key);
  };
  MLCN_CHECK(!has("model", "type") && !has("model", "lanes"),
             src << ": model.type and model.lanes are set by the NAS for each generated model; remove them");
  MLCN_CHECK(!has("train", "epochs"), src << ": train.epochs is set by the NAS; use nas.epochs");
  MLCN_CHECK(!has("runtime", "placement"), src << ": runtime.placement is set by the NAS from the buckets");
}

}  // namespace

NasConfig nas_config_from_json(const json& user, const std::string& src) {
  MLCN_CHECK(user.is_object(), src << ": the NAS config must be a JSON object");
  for (auto it = user.begin(); it != user.end(); ++it)
    MLCN_CHECK(it.key() == "nas" || it.key() == "model" || it.key() == "data" || it.key() == "train" ||
                   it.key() == "runtime",
               src << ": unknown config key '" << it.key() << "' (expected nas, model, data, train, runtime)");
  reject_owned(user, src);
  NasConfig c;
  json nas = nas_defaults();
  if (user.contains("nas")) {
    // nas.buckets is an object of identical buckets or a list of buckets (checked below).
    merge_strict(nas, user["nas"], nas_defaults(), "nas", src, {"nas.buckets"});
    const json& ub = user["nas"].contains("buckets") ? user["nas"]["buckets"] : json();
    if (ub.is_object()) {
      nas["buckets"] = nas_defaults()["buckets"];
      merge_strict(nas["buckets"], ub, nas_defaults()["buckets"], "nas.buckets", src);
    } else {
      MLCN_CHECK(ub.is_null() || ub.is_array(), src << ": config key 'nas.buckets' must be an object or a list, got "
                                                     << ub.dump());
    }
  }

  NasSettings& s = c.search;
  s.strategy = nas["strategy"];
  MLCN_CHECK(s.strategy == "random" || s.strategy == "halving",
             src << ": nas.strategy must be random or halving, got '" << s.strategy << "'");
  s.iterations = int_in(nas["iterations"], "nas.iterations", 1, 1000000, src);
  s.epochs = int_in(nas["epochs"], "nas.epochs", 1, 100000, src);
  s.repeats = int_in(nas["repeats"], "nas.repeats", 1, 1000, src);
  MLCN_CHECK(nas["seed"].is_number_unsigned(), src << ": nas.seed must be a non-negative integer");
  s.seed = nas["seed"].get<uint64_t>();
  MLCN_CHECK(nas["budget_model_epochs"].get<int64_t>() >= 0, src << ": nas.budget_model_epochs must be >= 0");
  s.budget_model_epochs = nas["budget_model_epochs"];
  s.eta = int_in(nas["halving"]["eta"], "nas.halving.eta", 2, 1000, src);
  s.min_epochs = int_in(nas["halving"]["min_epochs"], "nas.halving.min_epochs", 1, s.epochs, src);
  s.keep_checkpoints = nas["keep_checkpoints"];
  MLCN_CHECK(s.budget() >= int64_t(s.epochs) * s.repeats,
             src << ": nas.budget_model_epochs " << s.budget() << " is below one full evaluation (epochs x repeats = "
                 << s.epochs * s.repeats << ")");

  // The training sections, validated by the engine's parser on a probe model.
  json train_user = json::object();
  for (const char* sec : {"model", "data", "train", "runtime"})
    if (user.contains(sec)) train_user[sec] = user[sec];
  SearchSpace& sp = c.space;
  sp.lane_type = nas["lane_type"];
  range(nas["width"], "nas.width", src, &sp.width_min, &sp.width_max);
  range(nas["depth"], "nas.depth", src, &sp.depth_min, &sp.depth_max);
  json probe = train_user;
  probe["model"]["lanes"] = json::array({{{"type", sp.lane_type}, {"width", sp.width_min}, {"depth", 1}}});
  probe["train"]["epochs"] = s.epochs;
  TrainingFacts tc = training_facts(probe, src);
  c.cpu_devices = tc.cpu_devices > 0 ? tc.cpu_devices : 1;  // buckets need a fixed device count: auto (0) is 1
  c.train_seed = tc.seed;
  MLCN_CHECK(tc.validation > 0, src << ": data.validation is 0, but the search scores models on the validation split "
                                       "(never on the test set); set data.validation > 0");

  set_lane_input(sp.shape, tc.dataset);
  sp.shape.batch = tc.batch_size;
  sp.shape.routings = tc.routings;
  sp.shape.classes = 10;
  sp.flops_per_speed = positive(nas["flops_per_speed"], "nas.flops_per_speed", src);
  const std::string cm = nas["cost_model"];
  MLCN_CHECK(cm == "paper" || cm == "flops", src << ": nas.cost_model must be paper or flops, got '" << cm << "'");
  sp.cost = cm == "paper" ? CostModel::paper() : CostModel::flops(sp.flops_per_speed);
  sp.memory.grad_factor = nas["memory"]["grad_factor"];
  sp.memory.overhead_bytes = nas["memory"]["overhead_bytes"];
  MLCN_CHECK(sp.memory.grad_factor >= 0 && sp.memory.overhead_bytes >= 0,
             src << ": nas.memory.grad_factor and nas.memory.overhead_bytes must be >= 0");

  const json& r = nas["reference"];
  const int ref_lanes = int_in(r["lanes"], "nas.reference.lanes", 1, 4096, src);
  LaneDesc ref = sp.shape;
  ref.type = r["type"];
  ref.width = int_in(r["width"], "nas.reference.width", 1, 64, src);
  ref.depth = int_in(r["depth"], "nas.reference.depth", 1, 64, src);
  check_lane(ref, src + ": nas.reference");
  c.reference.assign(ref_lanes, ref);
  c.reference_load = model_load(sp, c.reference);

  const std::string scope = nas["load_scope"];
  MLCN_CHECK(scope == "per-bucket" || scope == "total",
             src << ": nas.load_scope must be per-bucket or total, got '" << scope << "'");
  sp.buckets = parse_buckets(nas["buckets"], src);
  for (Bucket& b : sp.buckets)
    b.load_limit *= c.reference_load / (scope == "total" ? double(sp.buckets.size()) : 1.0);
  check_space(sp);

  // The resolved config: NAS section plus the resolved training sections minus the NAS-owned keys.
  c.json = tc.resolved;
  c.json["model"].erase("type");
  c.json["model"].erase("lanes");
  c.json["train"].erase("epochs");
  c.json["runtime"].erase("placement");
  c.json["nas"] = nas;
  return c;
}

NasConfig parse_nas_config(const std::string& text, const std::string& source,
                           const std::vector<std::string>& overrides) {
  json user = parse_json_text(text, source);
  MLCN_CHECK(user.is_object(), source << ": the NAS config must be a JSON object");
  json defaults = training_defaults();
  defaults["nas"] = nas_defaults();
  return parse_with_overrides(user, overrides, defaults, source, nas_config_from_json);
}

NasConfig load_nas_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_nas_config(read_json_file(path).dump(), path, overrides);
}

json training_config_json(const NasConfig& cfg, const GeneratedModel& m, int repeat, int epochs) {
  json j = json::object();
  for (const char* sec : {"model", "data", "train", "runtime"})
    j[sec] = cfg.json.contains(sec) ? cfg.json[sec] : json::object();
  j["model"]["type"] = "mlcn";
  j["model"]["lanes"] = lanes_config_json(m.lanes);
  j["train"]["epochs"] = epochs;
  j["train"]["seed"] = cfg.train_seed + uint64_t(repeat);
  json placement = json::array();
  for (int b : m.bucket) placement.push_back(b % cfg.cpu_devices);
  j["runtime"]["placement"] = placement;
  j["runtime"]["cpu_devices"] = cfg.cpu_devices;
  return j;
}

}  // namespace mlcn
