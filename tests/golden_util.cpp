// Golden-step runner; see golden_util.h.
#include "golden_util.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "base/rng.h"
#include "engine/models/model.h"
#include "engine/ops/ops.h"
#include "engine/train/config.h"

namespace mlcn {

std::string golden_dir() {
  if (const char* env = std::getenv("MLCN_GOLDEN_DIR")) return env;
  return std::string(MLCN_SOURCE_DIR) + "/tests/golden";
}

double golden_value(uint64_t k, uint64_t i, double amplitude) {
  double u = static_cast<double>(splitmix64((k << 32) + i) >> 11) * 0x1.0p-53;
  return static_cast<double>(static_cast<float>(amplitude * (2.0 * u - 1.0)));
}

GoldenStep run_golden_step(const std::string& path, DType dt) {
  GoldenStep g;
  g.file = read_safetensors(path);
  const StFile& f = g.file;
  Config cfg = config_from_json(nlohmann::json::parse(f.metadata.at("config")), path);
  Model model(model_spec(cfg, dt));
  std::map<std::string, Param*> by_name;
  for (Param* p : model.all_params()) by_name[p->name] = p;
  auto weights = nlohmann::json::parse(f.metadata.at("weights"));
  MLCN_CHECK(weights.size() == by_name.size(), path << ": " << weights.size() << " weights, model has " << by_name.size());
  for (const auto& w : weights) {
    const std::string name = w["name"];
    MLCN_CHECK(by_name.count(name), path << ": the model has no parameter " << name);
    Param* p = by_name[name];
    Shape ex = w["shape"].get<Shape>();
    MLCN_CHECK(ex == exchange_shape(*p), name << ": golden shape " << shape_str(ex) << " vs engine "
                                              << shape_str(exchange_shape(*p)));
    Tensor t = Tensor::empty(ex, dt);
    for (int64_t i = 0; i < t.numel(); ++i) t.set(i, golden_value(w["k"], static_cast<uint64_t>(i), w["amplitude"]));
    p->var->value.copy_from(from_exchange(*p, t));
  }
  // Pixels are value(1000, i, 0.5) + 0.5 in double; the stored float32 `input` is that rounded,
  // so we recompute them (and check they agree with the stored copy to float32 precision).
  std::vector<float> img = f.at("input").to_f32();  // (B, 1, 28, 28): with C = 1 the same order as NHWC
  const StTensor& in = f.at("input");
  MLCN_CHECK(in.shape[1] == 1, "golden inputs with C > 1 need an NCHW->NHWC transpose");
  const int64_t B = in.shape[0];
  Tensor x = Tensor::empty({B, in.shape[2], in.shape[3], 1}, dt);
  for (int64_t i = 0; i < x.numel(); ++i) {
    double px = golden_value(1000, static_cast<uint64_t>(i), 0.5) + 0.5;
    MLCN_CHECK(std::fabs(px - img[static_cast<size_t>(i)]) < 1e-6, path << ": input[" << i << "] disagrees with the closed form");
    x.set(i, px);
  }
  std::vector<int32_t> labels;
  for (int64_t l : f.at("labels").to_i64()) labels.push_back(static_cast<int32_t>(l));

  Tape tape;
  std::vector<Var> outs;
  Var xv = make_var(x, false);
  for (size_t l = 0; l < model.num_lanes(); ++l) outs.push_back(model.lane(l).forward(tape, xv));
  Var V = concat_last(tape, outs);
  HeadResult r = model.head().forward(tape, V, x, labels, {}, true, cfg.lam_recon);
  tape.backward(r.loss);
  g.loss = r.loss->value.item();
  g.margin = r.margin->value.item();
  g.recon = r.recon_loss->value.item();
  g.lengths = r.lengths.to(DType::F64);
  for (Param* p : model.all_params()) g.grads[p->name] = to_exchange(*p, p->var->grad).to(DType::F64);
  return g;
}

}  // namespace mlcn
