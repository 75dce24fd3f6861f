// Checkpoint save/load with validation against the model; see checkpoint.h.
#include "engine/train/checkpoint.h"

#include <cmath>
#include <cstring>
#include <map>

#include "base/json_io.h"  // defines: parse_json_text
#include "engine/io/safetensors.h"

namespace mlcn {

namespace {

StTensor to_st(const Tensor& t) {
  Tensor h = t.to(Device::cpu()).to(DType::F32);
  return StTensor::from_f32(h.shape(), h.data<float>());
}

// Index of the first non-finite value of `v` (numel floats), or -1.
int64_t first_non_finite(const float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i])) return i;
  return -1;
}

void check_finite_st(const std::string& path, const std::string& name, const StTensor& t, bool non_negative) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), v.size() * sizeof(float));
  const int64_t bad = first_non_finite(v.data(), static_cast<int64_t>(v.size()));
  MLCN_CHECK(bad < 0, path << ": tensor \"" << name << "\" holds a non-finite value (" << v[size_t(bad)]
                           << " at element " << bad << "): the run that wrote it had diverged");
  if (!non_negative) return;
  for (size_t i = 0; i < v.size(); ++i)
    MLCN_CHECK(v[i] >= 0, path << ": tensor \"" << name << "\" holds " << v[i] << " at element " << i
                               << ", but an Adam second moment is never negative");
}

// `t` must be an F32 tensor of `shape`; errors name the file and the tensor.
void check_tensor(const std::string& path, const std::string& name, const StTensor& t, const Shape& shape) {
  MLCN_CHECK(t.dtype == StDType::F32, path << ": tensor \"" << name << "\" has dtype " << st_dtype_name(t.dtype)
                                           << ", expected F32");
  MLCN_CHECK(t.shape == shape, path << ": tensor \"" << name << "\" has shape " << shape_str(t.shape)
                                    << " but the model's parameter has " << shape_str(shape) << " (a different model?)");
  check_finite_st(path, name, t, name.rfind("adam.v.", 0) == 0);
}

Tensor from_st(const StTensor& s) {
  Tensor t = Tensor::empty(s.shape, DType::F32);
  if (t.numel()) std::memcpy(t.data<float>(), s.bytes.data(), size_t(t.numel()) * sizeof(float));
  return t;
}

// A metadata integer in [lo, hi]: decimal digits only, no sign tricks, no overflow.
// A metadata value of plain decimal digits in [lo, hi] (the full uint64 range allowed).
uint64_t meta_uint(const StFile& f, const std::string& key, uint64_t lo, uint64_t hi, bool required = true,
                   uint64_t fallback = 0) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) {
    MLCN_CHECK(!required, f.source << ": metadata key \"" << key << "\" is missing");
    return fallback;
  }
  const std::string& s = it->second;
  bool ok = !s.empty() && s.size() <= 20;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || __builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, uint64_t(c - '0'), &v)) {
      ok = false;
      break;
    }
  }
  MLCN_CHECK(ok && v >= lo && v <= hi,
             f.source << ": metadata key \"" << key << "\" is \"" << s.substr(0, 24) << (s.size() > 24 ? "..." : "")
                      << "\", expected an integer in [" << lo << ", " << hi << "]");
  return v;
}

int64_t meta_int(const StFile& f, const std::string& key, int64_t lo, int64_t hi, bool required = true,
                 int64_t fallback = 0) {
  return static_cast<int64_t>(meta_uint(f, key, uint64_t(lo), uint64_t(hi), required, uint64_t(fallback)));
}

double meta_double(const StFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) return 0;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  MLCN_CHECK(!it->second.empty() && end && *end == 0 && std::isfinite(v) && v >= 0,
             f.source << ": metadata key \"" << key << "\" is not a finite non-negative number");
  return v;
}

JsonLimits config_limits() { return JsonLimits{}; }

nlohmann::json stored_config(const StFile& f) {
  auto it = f.metadata.find("config");
  MLCN_CHECK(it != f.metadata.end(), f.source << ": not an mlcn checkpoint (no config in its metadata)");
  nlohmann::json j = parse_json_text(it->second, f.source + ": metadata \"config\"", config_limits());
  MLCN_CHECK(j.is_object(), f.source << ": metadata \"config\" is " << json_kind(j) << ", expected an object");
  return j;
}

std::string dtoa(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

}  // namespace

void save_checkpoint(const std::string& path, Model& model, const std::vector<Adam*>& opts, const Config& cfg,
                     int64_t epochs_done) {
  TrainPosition pos;
  pos.epoch = epochs_done;
  save_checkpoint_at(path, model, opts, cfg, pos);
}

void save_checkpoint_at(const std::string& path, Model& model, const std::vector<Adam*>& opts, const Config& cfg,
                        const TrainPosition& pos) {
  StFile f;
  auto put = [&](const std::string& name, const StTensor& t) {
    const int64_t bad = first_non_finite(reinterpret_cast<const float*>(t.bytes.data()), t.numel());
    MLCN_CHECK(bad < 0, path << ": not written: tensor \"" << name << "\" holds a non-finite value at element " << bad);
    f.tensors[name] = t;
  };
  for (Param* p : model.all_params()) put(p->name, to_st(to_exchange(*p, p->var->value.to(Device::cpu()))));
  int64_t t = 0;
  for (Adam* o : opts) {
    t = o->t();
    for (size_t i = 0; i < o->params().size(); ++i) {
      const Param& p = *o->params()[i];
      put("adam.m." + p.name, to_st(to_exchange(p, o->m()[i].to(Device::cpu()))));
      put("adam.v." + p.name, to_st(to_exchange(p, o->v()[i].to(Device::cpu()))));
    }
  }
  f.metadata["format"] = kCheckpointFormat;
  f.metadata["config"] = cfg.json.dump();
  f.metadata["epoch"] = std::to_string(pos.epoch);
  f.metadata["adam_t"] = std::to_string(t);
  f.metadata["step"] = std::to_string(pos.step);
  f.metadata["dropout_rng"] = std::to_string(pos.dropout_rng);
  f.metadata["epoch_margin"] = dtoa(pos.margin);
  f.metadata["epoch_recon"] = dtoa(pos.recon);
  f.metadata["epoch_seen"] = std::to_string(pos.seen);
  f.metadata["epoch_correct"] = std::to_string(pos.correct);
  f.metadata["epoch_seconds"] = dtoa(pos.seconds);
  write_safetensors(path, f);
}

nlohmann::json checkpoint_config(const std::string& path) { return stored_config(read_safetensors(path)); }

CheckpointInfo load_checkpoint(const std::string& path, Model& model, const std::vector<Adam*>& opts) {
  const StFile f = read_safetensors(path);
  auto fmt = f.metadata.find("format");
  MLCN_CHECK(fmt != f.metadata.end(), path << ": not an mlcn checkpoint (no \"format\" in its metadata)");
  const bool v2 = fmt->second == kCheckpointFormat;
  MLCN_CHECK(v2 || fmt->second == "mlcn-checkpoint-1",
             path << ": checkpoint format \"" << fmt->second.substr(0, 40) << "\" is not one this build reads ("
                  << kCheckpointFormat << " or mlcn-checkpoint-1)");
  MLCN_CHECK(!v2 || f.metadata.count(kStFileCrcKey),
             path << ": corrupt checkpoint: " << kCheckpointFormat << " requires " << kStFileCrcKey
                  << " in the metadata (it was removed or renamed)");

  CheckpointInfo info;
  info.config = stored_config(f);
  int64_t max_epoch = 1000000;
  const nlohmann::json* train = info.config.contains("train") ? &info.config["train"] : nullptr;
  if (train && train->is_object() && train->contains("epochs") && (*train)["epochs"].is_number_integer())
    max_epoch = std::max<int64_t>(0, std::min<int64_t>(max_epoch, (*train)["epochs"].get<int64_t>()));
  info.epoch = meta_int(f, "epoch", 0, max_epoch);
  info.adam_t = meta_int(f, "adam_t", 0, kMaxAdamT);
  TrainPosition& pos = info.pos;
  pos.epoch = info.epoch;
  pos.step = meta_int(f, "step", 0, kMaxAdamT, v2);
  MLCN_CHECK(pos.step <= info.adam_t, path << ": metadata \"step\" " << pos.step << " is past \"adam_t\" " << info.adam_t);
  pos.dropout_rng = meta_uint(f, "dropout_rng", 0, UINT64_MAX, false);  // an RNG state: any 64-bit value
  if (f.metadata.count("dropout_rng") == 0 && pos.step > 0) MLCN_FAIL(path << ": metadata key \"dropout_rng\" is missing");
  pos.margin = meta_double(f, "epoch_margin");
  pos.recon = meta_double(f, "epoch_recon");
  pos.seen = meta_int(f, "epoch_seen", 0, INT64_MAX / 2, false);
  pos.correct = meta_int(f, "epoch_correct", 0, pos.seen, false);
  pos.seconds = meta_double(f, "epoch_seconds");

  // Every tensor is checked before anything is copied: a refused file changes nothing.
  std::map<std::string, Shape> expected;
  for (Param* p : model.all_params()) {
    const Shape s = exchange_shape(*p);
    expected[p->name] = s;
    MLCN_CHECK(f.has(p->name), path << ": checkpoint has no tensor \"" << p->name << "\" (a different model?)");
    for (const char* pre : {"adam.m.", "adam.v."}) {
      expected[pre + p->name] = s;
      MLCN_CHECK(opts.empty() || f.has(pre + p->name),
                 path << ": checkpoint has no tensor \"" << pre << p->name << "\" (saved without optimizer state?)");
    }
  }
  for (const auto& [name, t] : f.tensors) {
    auto it = expected.find(name);
    MLCN_CHECK(it != expected.end(), path << ": unexpected tensor \"" << name.substr(0, 80)
                                          << "\": the model has no such parameter (a different model?)");
    check_tensor(path, name, t, it->second);
  }
  for (Param* p : model.all_params())
    p->var->value.copy_from(from_exchange(*p, from_st(f.at(p->name))).to(p->var->value.dtype()).to(p->var->value.device()));
  for (Adam* o : opts) {
    o->set_t(info.adam_t);
    for (size_t i = 0; i < o->params().size(); ++i) {
      const Param& p = *o->params()[i];
      o->m()[i].copy_from(from_exchange(p, from_st(f.at("adam.m." + p.name))).to(o->m()[i].dtype()));
      o->v()[i].copy_from(from_exchange(p, from_st(f.at("adam.v." + p.name))).to(o->v()[i].dtype()));
    }
  }
  return info;
}

}  // namespace mlcn
