// The training config: the defaults (config_defaults.json), validation of every key with its
// range, and the file + `--set` entry points (JSON reading and merging are base/json_io.h's).
#include "engine/train/config.h"

#include <cmath>

#include "base/check.h"     // defines: MLCN_CHECK, MLCN_FAIL
#include "base/datasets.h"  // defines: dataset_info
#include "base/json_io.h"   // defines: parse_json_text, merge_strict, apply_set_overrides
#include "engine/core/backend.h"  // defines: routing_variant_named, predict_variant_named
#include "engine/optim/lr_schedule.h"  // defines: check_lr_schedule_kind

namespace mlcn {
using nlohmann::json;

const json& config_defaults() {
  static const json d = json::parse(
#include "config_defaults.inc"
  );
  return d;
}

namespace {

LaneSpec parse_lane(const json& l, size_t i, const std::string& src) {
  const std::string key = "model.lanes[" + std::to_string(i) + "]";
  MLCN_CHECK(l.is_object(), src << ": " << key << " must be an object {type, width, depth}");
  LaneSpec s;
  for (auto it = l.begin(); it != l.end(); ++it) {
    if (it.key() == "type") {
      MLCN_CHECK(it->is_string(), src << ": " << key << ".type must be a string");
      s.type = it->get<std::string>();
      MLCN_CHECK(s.type == "mlcn1" || s.type == "mlcn2",
                 src << ": " << key << ".type must be mlcn1 or mlcn2, got '" << s.type << "'");
    } else if (it.key() == "width" || it.key() == "depth") {
      (it.key() == "width" ? s.width : s.depth) = int(json_int_in(*it, key + "." + it.key(), 1, 64, src));
    } else {
      const std::string near = nearest_key(it.key(), {"type", "width", "depth"});
      MLCN_FAIL(src << ": unknown config key '" << key << "." << it.key() << "'"
                    << (near.empty() ? "" : " (did you mean '" + key + "." + near + "'?)"));
    }
  }
  return s;
}

}  // namespace

InputShape dataset_shape(const std::string& dataset) {
  const DatasetInfo& d = dataset_info(dataset);
  return {d.H, d.W, d.C, d.classes};
}

Config config_from_json(const json& user, const std::string& src) {
  json merged = config_defaults();
  merge_strict(merged, user, config_defaults(), "", src, {"runtime.placement"});
  MLCN_CHECK(merged["runtime"]["placement"].is_string() || merged["runtime"]["placement"].is_array(),
             src << ": config key 'runtime.placement' must be a string or a list of device indices");
  if (user.contains("model") && user["model"].contains("lanes")) merged["model"]["lanes"] = user["model"]["lanes"];
  Config c;
  const json& m = merged["model"];
  c.model_type = m["type"];
  MLCN_CHECK(c.model_type == "mlcn" || c.model_type == "capsnet",
             src << ": model.type must be mlcn or capsnet, got '" << c.model_type << "'");
  for (size_t i = 0; i < m["lanes"].size(); ++i) c.lanes.push_back(parse_lane(m["lanes"][i], i, src));
  if (c.model_type == "capsnet") {  // CapsNet has no lanes: listing some is a mistake, not a no-op
    MLCN_CHECK(!(user.contains("model") && user["model"].contains("lanes")),
               src << ": model.lanes is not used by model.type capsnet; remove it or use type mlcn");
    c.lanes.clear();
    merged["model"].erase("lanes");
  }
  MLCN_CHECK(c.model_type == "capsnet" || !c.lanes.empty(), src << ": model.lanes must list at least one lane");
  c.routings = int(json_int_in(m["routings"], "model.routings", 1, 10, src));
  c.lane_dropout = m["lane_dropout"];
  MLCN_CHECK(c.lane_dropout >= 0 && c.lane_dropout < 1, src << ": model.lane_dropout must be in [0, 1), got " << c.lane_dropout);
  c.fast_caps = m["fast_caps"];
  c.routing_stop_grad = m["routing_stop_grad"];
  const json& d = merged["data"];
  try {
    c.dataset = dataset_info(d["dataset"].get<std::string>()).name;
  } catch (const Error& e) {
    MLCN_FAIL(src << ": data.dataset: " << e.message());
  }
  merged["data"]["dataset"] = c.dataset;
  c.data_path = d["path"];
  c.train_limit = json_int_in(d["train_limit"], "data.train_limit", 0, int64_t(1) << 40, src);
  c.test_limit = json_int_in(d["test_limit"], "data.test_limit", 0, int64_t(1) << 40, src);
  MLCN_CHECK(d["validation"].is_number(), src << ": data.validation must be a number, got " << json_brief(d["validation"]));
  c.validation = d["validation"];
  MLCN_CHECK(c.validation == 0 || (c.validation > 0 && c.validation < 1) ||
                 (c.validation >= 1 && c.validation <= 1e9 && c.validation == std::floor(c.validation)),
             src << ": data.validation must be 0 (none), a fraction in (0, 1) or an integer image count, got "
                 << json_brief(d["validation"]));
  const json& t = merged["train"];
  c.epochs = int(json_int_in(t["epochs"], "train.epochs", 1, 1000000, src));
  c.batch_size = int(json_int_in(t["batch_size"], "train.batch_size", 1, 65536, src));
  c.lr = t["lr"];
  c.lr_decay = t["lr_decay"];
  c.lam_recon = t["lam_recon"];
  MLCN_CHECK(t["seed"].is_number_unsigned(), src << ": train.seed must be a non-negative integer, got " << json_brief(t["seed"]));
  c.seed = t["seed"];
  c.shift_fraction = t["shift_fraction"];
  c.lr_schedule = t["lr_schedule"];
  try {
    check_lr_schedule_kind(c.lr_schedule, "train.lr_schedule");
  } catch (const Error& e) {
    MLCN_FAIL(src << ": " << e.message());
  }
  c.lr_step_epochs = int(json_int_in(t["lr_step_epochs"], "train.lr_step_epochs", 1, 1000000, src));
  c.lr_min = t["lr_min"];
  c.warmup_epochs = t["warmup_epochs"];
  c.weight_decay = t["weight_decay"];
  c.clip_norm = t["clip_norm"];
  c.early_stop_patience = int(json_int_in(t["early_stop_patience"], "train.early_stop_patience", 0, 1000000, src));
  c.time_limit_minutes = t["time_limit_minutes"];
  MLCN_CHECK(c.time_limit_minutes >= 0 && c.time_limit_minutes <= 1e6,
             src << ": train.time_limit_minutes must be in [0, 1e6] (0: off), got " << c.time_limit_minutes);
  c.crop_padding = int(json_int_in(t["crop_padding"], "train.crop_padding", 0, 16, src));
  c.flip = t["flip"];
  MLCN_CHECK(c.lr_min >= 0, src << ": train.lr_min must be >= 0, got " << c.lr_min);
  MLCN_CHECK(c.warmup_epochs >= 0 && c.warmup_epochs <= 1e6, src << ": train.warmup_epochs must be in [0, 1e6], got " << c.warmup_epochs);
  MLCN_CHECK(c.weight_decay >= 0 && c.weight_decay < 1e3, src << ": train.weight_decay must be in [0, 1000), got " << c.weight_decay);
  MLCN_CHECK(c.clip_norm >= 0 && std::isfinite(c.clip_norm), src << ": train.clip_norm must be >= 0 (0: off), got " << c.clip_norm);
  MLCN_CHECK(!(c.crop_padding > 0 && c.shift_fraction > 0),
             src << ": train.crop_padding and train.shift_fraction are two forms of one random shift; set one of them");
  MLCN_CHECK(c.early_stop_patience == 0 || c.validation > 0,
             src << ": train.early_stop_patience needs a validation split (data.validation > 0)");
  c.log_every = int(json_int_in(t["log_every"], "train.log_every", 0, 1000000000, src));
  c.prefetch = t["prefetch"];
  c.checkpoint_every = json_int_in(t["checkpoint_every"], "train.checkpoint_every", 0, 1000000000, src);
  c.checkpoint_minutes = t["checkpoint_minutes"];
  c.keep_checkpoints = int(json_int_in(t["keep_checkpoints"], "train.keep_checkpoints", 0, 1000000, src));
  MLCN_CHECK(c.checkpoint_minutes >= 0 && c.checkpoint_minutes <= 1e6,
             src << ": train.checkpoint_minutes must be in [0, 1e6], got " << c.checkpoint_minutes);
  c.init = t["init"];
  c.plot = t["plot"];
  MLCN_CHECK(c.lr > 0, src << ": train.lr must be > 0, got " << c.lr);
  MLCN_CHECK(c.lr_decay > 0 && c.lr_decay <= 1, src << ": train.lr_decay must be in (0, 1], got " << c.lr_decay);
  MLCN_CHECK(c.shift_fraction >= 0 && c.shift_fraction < 0.5, src << ": train.shift_fraction must be in [0, 0.5)");
  // A negative weight would reward bad reconstructions (issue 27, item 8).
  MLCN_CHECK(c.lam_recon >= 0 && c.lam_recon <= 1e3,
             src << ": train.lam_recon must be in [0, 1000] (0: no reconstruction loss), got " << c.lam_recon);
  MLCN_CHECK(c.lr_schedule != "cosine" || c.lr_min <= c.lr,
             src << ": train.lr_min (" << c.lr_min << ") is above train.lr (" << c.lr
                 << "): a cosine schedule goes down from lr to lr_min");
  const json& r = merged["runtime"];
  c.device = r["device"];
  MLCN_CHECK(c.device == "auto" || c.device == "cpu" || c.device == "cuda",
             src << ": runtime.device must be auto, cpu or cuda, got '" << c.device << "'");
  c.threads = int(json_int_in(r["threads"], "runtime.threads", 0, 1024, src));
  c.cpu_devices = int(json_int_in(r["cpu_devices"], "runtime.cpu_devices", 0, 256, src));
  c.placement = r["placement"];
  c.allow_tf32 = r["allow_tf32"];
  c.group_lanes = r["group_lanes"];
  c.cuda_graphs = r["cuda_graphs"];
  c.routing_variant = r["routing_variant"];
  c.predict_variant = r["predict_variant"];
  auto check_variant = [&](const char* key, const std::string& name, auto named) {  // on every build
    try {
      named(name);
    } catch (const Error& e) {
      MLCN_FAIL(src << ": runtime." << key << ": " << e.message());
    }
  };
  check_variant("routing_variant", c.routing_variant, routing_variant_named);
  check_variant("predict_variant", c.predict_variant, predict_variant_named);
  c.mode = r["mode"];
  c.replicas = int(json_int_in(r["replicas"], "runtime.replicas", 0, 4096, src));
  MLCN_CHECK(c.mode == "model" || c.mode == "data", src << ": runtime.mode must be model or data, got '" << c.mode << "'");
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
  c.json = merged;
  return c;
}

Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides) {
  json user = parse_json_text(text, source);
  MLCN_CHECK(user.is_object(), source << ": the config must be a JSON object");
  return parse_with_overrides(user, overrides, config_defaults(), source, config_from_json);
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  json user = read_json_file(path);
  return parse_config(user.dump(), path, overrides);
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
