// Weights-only files; see weights.h.
#include "engine/train/weights.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <set>

#include "base/json_io.h"  // defines: parse_json_text, json_kind
#include "engine/io/safetensors.h"

namespace mlcn {

void check_safetensors_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  MLCN_CHECK(f.good(), path << ": cannot open the file (no such file?)");
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  uint8_t b[9] = {};
  f.read(reinterpret_cast<char*>(b), size >= 9 ? 9 : static_cast<std::streamsize>(size));
  MLCN_CHECK(size >= 10, path << ": not a safetensors file (" << size << " bytes)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  const bool json_text = b[0] == '{' || b[0] == '[';
  MLCN_CHECK(n <= size - 8 && b[8] == '{',
             path << ": not a safetensors file" << (json_text ? " (it reads as JSON text: a config? pass it with --config)"
                                                          : " (its first 8 bytes are no header length that fits the file)"));
}

void save_weights(const std::string& path, Model& model, const Config& cfg) {
  StFile f;
  for (Param* p : model.all_params()) {
    Tensor t = to_exchange(*p, p->var->value.to(Device::cpu())).to(DType::F32);
    for (int64_t i = 0; i < t.numel(); ++i)
      MLCN_CHECK(std::isfinite(t.data<float>()[i]), path << ": not written: tensor " << p->name
                                                          << " holds a non-finite value at element " << i);
    f.tensors[p->name] = StTensor::from_f32(t.shape(), t.data<float>());
  }
  f.metadata["format"] = kWeightsFormat;
  f.metadata["config"] = cfg.json.dump();
  write_safetensors(path, f);
}

void load_weights(const std::string& path, Model& model) {
  check_safetensors_file(path);
  StFile f = read_safetensors(path);
  std::set<std::string> unused;
  for (const auto& [name, t] : f.tensors)
    if (name.rfind("adam.", 0) != 0) unused.insert(name);
  for (Param* p : model.all_params()) {
    MLCN_CHECK(f.has(p->name), path << ": no tensor " << p->name << " (weights of a different model? "
                                    << f.tensors.size() << " tensors in the file)");
    const StTensor& s = f.at(p->name);
    const Shape want = exchange_shape(*p);
    MLCN_CHECK(Shape(s.shape.begin(), s.shape.end()) == want,
               path << ": tensor " << p->name << " has shape " << shape_str(Shape(s.shape.begin(), s.shape.end()))
                    << ", the model expects " << shape_str(want));
    std::vector<float> v = s.to_f32();
    // eval, predict, export, step and train --init all load here: Inf/NaN weights (a diverged
    // run's) are refused where they enter, not reported as a null loss later (issue 27, item 1).
    for (size_t i = 0; i < v.size(); ++i)
      MLCN_CHECK(std::isfinite(v[i]), path << ": tensor " << p->name << " holds a non-finite value (" << v[i]
                                            << " at element " << i << "): the run that wrote it had diverged");
    Tensor t = Tensor::empty(want, DType::F32);
    std::copy(v.begin(), v.end(), t.data<float>());
    p->var->value.copy_from(from_exchange(*p, t).to(p->var->value.dtype()).to(p->var->value.device()));
    unused.erase(p->name);
  }
  MLCN_CHECK(unused.empty(), path << ": tensor " << *unused.begin() << " is not a parameter of this model ("
                                  << unused.size() << " such tensors)");
}

nlohmann::json stored_config(const std::string& path) {
  check_safetensors_file(path);
  StFile f = read_safetensors(path);
  const auto it = f.metadata.find("config");
  if (it == f.metadata.end()) return nullptr;
  nlohmann::json j = parse_json_text(it->second, path + ": metadata \"config\"");
  MLCN_CHECK(j.is_object(), path << ": metadata \"config\" is " << json_kind(j) << ", expected an object");
  return j;
}

}  // namespace mlcn
