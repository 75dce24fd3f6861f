// Config defaults, strict merging (unknown keys and wrong types name the key), overrides.
#include "engine/train/config.h"

#include <fstream>
#include <sstream>

#include "base/check.h"

namespace mlcn {
using nlohmann::json;

const json& config_defaults() {
  static const json d = json::parse(R"({
    "model": {"type": "mlcn", "lanes": [{"type": "mlcn1", "width": 4, "depth": 1},
                                         {"type": "mlcn1", "width": 4, "depth": 1}],
              "routings": 3, "lane_dropout": 0.0, "fast_caps": true, "routing_stop_grad": false},
    "data": {"dataset": "fashion-mnist", "path": "", "train_limit": 0, "test_limit": 0},
    "train": {"epochs": 3, "batch_size": 100, "lr": 0.001, "lr_decay": 0.9, "lam_recon": 0.392,
              "seed": 0, "shift_fraction": 0.0, "log_every": 50, "prefetch": true},
    "runtime": {"device": "auto", "threads": 0, "cpu_devices": 1, "placement": "round-robin",
                "allow_tf32": false, "group_lanes": false, "cuda_graphs": false,
                "mode": "model", "replicas": 0}
  })");
  return d;
}

namespace {

const char* type_name(const json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return "null";
}

bool same_kind(const json& def, const json& v) {
  if (def.is_number_float()) return v.is_number();
  if (def.is_number_integer() || def.is_number_unsigned()) return v.is_number_integer() || v.is_number_unsigned();
  if (def.is_boolean()) return v.is_boolean();
  if (def.is_string()) return v.is_string();
  if (def.is_array()) return v.is_array();
  if (def.is_object()) return v.is_object();
  return false;
}

}  // namespace

void merge_strict(json& base, const json& user, const json& defaults, const std::string& path, const std::string& src,
                  const std::set<std::string>& any_type) {
  MLCN_CHECK(user.is_object(), src << ": " << (path.empty() ? "the config" : path) << " must be an object");
  for (auto it = user.begin(); it != user.end(); ++it) {
    std::string key = path.empty() ? it.key() : path + "." + it.key();
    if (!defaults.contains(it.key())) MLCN_FAIL(src << ": unknown config key '" << key << "'");
    const json& d = defaults.at(it.key());
    if (any_type.count(key)) {
      base[it.key()] = *it;
      continue;
    }
    MLCN_CHECK(same_kind(d, *it), src << ": config key '" << key << "' must be " << type_name(d) << ", got "
                                      << type_name(*it) << " (" << it->dump() << ")");
    if (d.is_object()) {
      if (!base[it.key()].is_object()) base[it.key()] = d;
      merge_strict(base[it.key()], *it, d, key, src, any_type);
    } else {
      base[it.key()] = *it;
    }
  }
}

namespace {

json parse_value(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return json(text);  // a bare word is a string
  }
}

LaneSpec parse_lane(const json& l, size_t i, const std::string& src) {
  std::string key = "model.lanes[" + std::to_string(i) + "]";
  MLCN_CHECK(l.is_object(), src << ": " << key << " must be an object {type, width, depth}");
  LaneSpec s;
  for (auto it = l.begin(); it != l.end(); ++it) {
    if (it.key() == "type") {
      MLCN_CHECK(it->is_string(), src << ": " << key << ".type must be a string");
      s.type = it->get<std::string>();
      MLCN_CHECK(s.type == "mlcn1" || s.type == "mlcn2",
                 src << ": " << key << ".type must be mlcn1 or mlcn2, got '" << s.type << "'");
    } else if (it.key() == "width" || it.key() == "depth") {
      MLCN_CHECK(it->is_number_integer() && it->get<int64_t>() >= 1 && it->get<int64_t>() <= 64,
                 src << ": " << key << "." << it.key() << " must be an integer in 1..64, got " << it->dump());
      (it.key() == "width" ? s.width : s.depth) = it->get<int>();
    } else {
      MLCN_FAIL(src << ": unknown config key '" << key << "." << it.key() << "'");
    }
  }
  return s;
}

}  // namespace

InputShape dataset_shape(const std::string& dataset) {
  if (dataset == "fashion-mnist") return {28, 28, 1, 10};
  if (dataset == "cifar10") return {32, 32, 3, 10};
  MLCN_FAIL("data.dataset must be fashion-mnist or cifar10, got '" << dataset << "'");
}

Config config_from_json(const json& user, const std::string& src) {
  json merged = config_defaults();
  merge_strict(merged, user, config_defaults(), "", src, {"runtime.placement"});
  MLCN_CHECK(merged["runtime"]["placement"].is_string() || merged["runtime"]["placement"].is_array(),
             src << ": config key 'runtime.placement' must be a string or a list of device indices");
  if (user.contains("model") && user["model"].contains("lanes")) merged["model"]["lanes"] = user["model"]["lanes"];
  Config c;
  c.json = merged;
  const json& m = merged["model"];
  c.model_type = m["type"];
  MLCN_CHECK(c.model_type == "mlcn" || c.model_type == "capsnet",
             src << ": model.type must be mlcn or capsnet, got '" << c.model_type << "'");
  for (size_t i = 0; i < m["lanes"].size(); ++i) c.lanes.push_back(parse_lane(m["lanes"][i], i, src));
  if (c.model_type == "capsnet") c.lanes.clear();
  MLCN_CHECK(c.model_type == "capsnet" || !c.lanes.empty(), src << ": model.lanes must list at least one lane");
  c.routings = m["routings"];
  MLCN_CHECK(c.routings >= 1 && c.routings <= 10, src << ": model.routings must be in 1..10, got " << c.routings);
  c.lane_dropout = m["lane_dropout"];
  MLCN_CHECK(c.lane_dropout >= 0 && c.lane_dropout < 1, src << ": model.lane_dropout must be in [0, 1), got " << c.lane_dropout);
  c.fast_caps = m["fast_caps"];
  c.routing_stop_grad = m["routing_stop_grad"];
  const json& d = merged["data"];
  c.dataset = d["dataset"];
  dataset_shape(c.dataset);
  c.data_path = d["path"];
  c.train_limit = d["train_limit"];
  c.test_limit = d["test_limit"];
  MLCN_CHECK(c.train_limit >= 0 && c.test_limit >= 0, src << ": data.train_limit/test_limit must be >= 0");
  const json& t = merged["train"];
  c.epochs = t["epochs"];
  c.batch_size = t["batch_size"];
  c.lr = t["lr"];
  c.lr_decay = t["lr_decay"];
  c.lam_recon = t["lam_recon"];
  c.seed = t["seed"];
  c.shift_fraction = t["shift_fraction"];
  c.log_every = t["log_every"];
  c.prefetch = t["prefetch"];
  MLCN_CHECK(c.epochs >= 0, src << ": train.epochs must be >= 0, got " << c.epochs);
  MLCN_CHECK(c.batch_size >= 1, src << ": train.batch_size must be >= 1, got " << c.batch_size);
  MLCN_CHECK(c.lr > 0, src << ": train.lr must be > 0, got " << c.lr);
  MLCN_CHECK(c.lr_decay > 0 && c.lr_decay <= 1, src << ": train.lr_decay must be in (0, 1], got " << c.lr_decay);
  MLCN_CHECK(c.shift_fraction >= 0 && c.shift_fraction < 0.5, src << ": train.shift_fraction must be in [0, 0.5)");
  const json& r = merged["runtime"];
  c.device = r["device"];
  MLCN_CHECK(c.device == "auto" || c.device == "cpu" || c.device == "cuda",
             src << ": runtime.device must be auto, cpu or cuda, got '" << c.device << "'");
  c.threads = r["threads"];
  c.cpu_devices = r["cpu_devices"];
  MLCN_CHECK(c.threads >= 0 && c.cpu_devices >= 1, src << ": runtime.threads must be >= 0 and runtime.cpu_devices >= 1");
  c.placement = r["placement"];
  c.allow_tf32 = r["allow_tf32"];
  c.group_lanes = r["group_lanes"];
  c.cuda_graphs = r["cuda_graphs"];
  c.mode = r["mode"];
  c.replicas = r["replicas"];
  MLCN_CHECK(c.mode == "model" || c.mode == "data", src << ": runtime.mode must be model or data, got '" << c.mode << "'");
  MLCN_CHECK(c.replicas >= 0, src << ": runtime.replicas must be >= 0, got " << c.replicas);
  const InputShape in = dataset_shape(c.dataset);
  for (size_t i = 0; i < c.lanes.size(); ++i) {  // an invalid depth is a config error, found now
    try {
      if (c.lanes[i].type == "mlcn1") mlcn1_levels(c.lanes[i], in);
      else MLCN_CHECK(c.lanes[i].depth == 1, "mlcn2 lanes have depth 1 only");
    } catch (const Error& e) {
      MLCN_FAIL(src << ": model.lanes[" << i << "] (" << c.lanes[i].type << " w" << c.lanes[i].width << " d"
                    << c.lanes[i].depth << ") is invalid for " << c.dataset << ": " << e.message());
    }
  }
  return c;
}

Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides) {
  json user;
  try {
    user = json::parse(text, nullptr, true, true);
  } catch (const json::parse_error& e) {
    MLCN_FAIL(source << ": invalid JSON: " << e.what());
  }
  MLCN_CHECK(user.is_object(), source << ": the config must be a JSON object");
  for (const std::string& o : overrides) {
    auto eq = o.find('=');
    MLCN_CHECK(eq != std::string::npos && eq > 0, "--set " << o << ": expected key=value");
    std::string key = o.substr(0, eq);
    json* node = &user;
    std::stringstream ks(key);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(ks, part, '.')) parts.push_back(part);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      json& next = (*node)[parts[i]];
      if (next.is_null()) next = json::object();
      MLCN_CHECK(next.is_object(), "--set " << o << ": '" << parts[i] << "' is not a section");
      node = &next;
    }
    (*node)[parts.back()] = parse_value(o.substr(eq + 1));
  }
  return config_from_json(user, source);
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream f(path);
  MLCN_CHECK(f.good(), path << ": cannot open config file");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), path, overrides);
}

ModelSpec model_spec(const Config& c, DType dt) {
  ModelSpec s;
  s.type = c.model_type;
  s.lanes = c.lanes;
  s.input = dataset_shape(c.dataset);
  s.lane.routings = c.routings;
  s.lane.fast_caps = c.fast_caps;
  s.lane.stop_grad = c.routing_stop_grad;
  s.lane.dtype = dt;
  s.lane_dropout = c.lane_dropout;
  s.lam_recon = c.lam_recon;
  return s;
}

}  // namespace mlcn
