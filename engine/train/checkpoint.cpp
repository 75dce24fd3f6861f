// Checkpoint save/load; see checkpoint.h.
#include "engine/train/checkpoint.h"

#include "engine/io/safetensors.h"

namespace mlcn {

namespace {
StTensor to_st(const Tensor& t) {
  Tensor h = t.to(Device::cpu()).to(DType::F32);
  return StTensor::from_f32(h.shape(), h.data<float>());
}
Tensor from_st(const StTensor& s, const std::string& name, const std::string& path) {
  std::vector<float> v = s.to_f32();
  Tensor t = Tensor::empty(s.shape, DType::F32);
  MLCN_CHECK(static_cast<int64_t>(v.size()) == t.numel(), path << ": tensor " << name << " has the wrong size");
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}
}  // namespace

void save_checkpoint(const std::string& path, Model& model, const std::vector<Adam*>& opts, const Config& cfg,
                     int64_t epochs_done) {
  StFile f;
  for (Param* p : model.all_params()) f.tensors[p->name] = to_st(to_exchange(*p, p->var->value.to(Device::cpu())));
  int64_t t = 0;
  for (Adam* o : opts) {
    t = o->t();
    for (size_t i = 0; i < o->params().size(); ++i) {
      const Param& p = *o->params()[i];
      f.tensors["adam.m." + p.name] = to_st(to_exchange(p, o->m()[i].to(Device::cpu())));
      f.tensors["adam.v." + p.name] = to_st(to_exchange(p, o->v()[i].to(Device::cpu())));
    }
  }
  f.metadata["format"] = "mlcn-checkpoint-1";
  f.metadata["config"] = cfg.json.dump();
  f.metadata["epoch"] = std::to_string(epochs_done);
  f.metadata["adam_t"] = std::to_string(t);
  write_safetensors(path, f);
}

nlohmann::json checkpoint_config(const std::string& path) {
  StFile f = read_safetensors(path);
  MLCN_CHECK(f.metadata.count("config"), path << ": not an mlcn checkpoint (no config in its metadata)");
  return nlohmann::json::parse(f.metadata.at("config"));
}

CheckpointInfo load_checkpoint(const std::string& path, Model& model, const std::vector<Adam*>& opts) {
  StFile f = read_safetensors(path);
  MLCN_CHECK(f.metadata.count("format") && f.metadata.at("format") == "mlcn-checkpoint-1",
             path << ": not an mlcn checkpoint (metadata format is missing or unknown)");
  for (Param* p : model.all_params()) {
    MLCN_CHECK(f.has(p->name), path << ": checkpoint has no tensor " << p->name << " (a different model?)");
    Tensor t = from_st(f.at(p->name), p->name, path);
    p->var->value.copy_from(from_exchange(*p, t).to(p->var->value.dtype()).to(p->var->value.device()));
  }
  CheckpointInfo info;
  info.config = nlohmann::json::parse(f.metadata.at("config"));
  info.epoch = std::stoll(f.metadata.at("epoch"));
  info.adam_t = std::stoll(f.metadata.at("adam_t"));
  for (Adam* o : opts) {
    o->set_t(info.adam_t);
    for (size_t i = 0; i < o->params().size(); ++i) {
      const Param& p = *o->params()[i];
      o->m()[i].copy_from(from_exchange(p, from_st(f.at("adam.m." + p.name), p.name, path)));
      o->v()[i].copy_from(from_exchange(p, from_st(f.at("adam.v." + p.name), p.name, path)));
    }
  }
  return info;
}

}  // namespace mlcn
