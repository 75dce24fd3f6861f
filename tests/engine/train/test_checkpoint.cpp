// engine/train/checkpoint: a save/load round trip restores every parameter, the Adam moments and
// step, the epoch and the config; a corrupt file or another model's checkpoint is refused by name.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "base/check.h"
#include "engine/optim/adam.h"
#include "engine/train/checkpoint.h"
#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;
using Catch::Matchers::Contains;

namespace {

const char* kConfig = R"({"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 1},
                                              {"type": "mlcn2", "width": 1, "depth": 1}]}})";

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.numel() == b.numel());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.item(i) - b.item(i)));
  return m;
}

}  // namespace

TEST_CASE("checkpoint: round trip of weights, Adam state, epoch and config", "[checkpoint]") {
  TempDir dir;
  const Config cfg = parse_config(kConfig, "test");
  Model a(model_spec(cfg));
  a.init(11);
  Adam opt(a.all_params());
  for (Param* p : a.all_params()) p->var->grad_buffer().fill_(0.01);
  opt.step(1e-3);
  opt.step(1e-3);
  const std::string path = dir.file("c.safetensors");
  save_checkpoint(path, a, {&opt}, cfg, 3);

  CHECK(checkpoint_config(path) == cfg.json);
  Model b(model_spec(cfg));
  b.init(99);  // different weights before loading
  Adam opt_b(b.all_params());
  CheckpointInfo info = load_checkpoint(path, b, {&opt_b});
  CHECK(info.epoch == 3);
  CHECK(info.adam_t == 2);
  CHECK(opt_b.t() == 2);
  std::vector<Param*> pa = a.all_params(), pb = b.all_params();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i]->name);
    CHECK(max_abs_diff(pa[i]->var->value, pb[i]->var->value) == 0);
    CHECK(max_abs_diff(opt.m()[i], opt_b.m()[i]) == 0);
    CHECK(max_abs_diff(opt.v()[i], opt_b.v()[i]) == 0);
  }
}

TEST_CASE("checkpoint: a flipped data byte and another model's checkpoint are refused", "[checkpoint]") {
  TempDir dir;
  const Config cfg = parse_config(kConfig, "test");
  Model a(model_spec(cfg));
  a.init(1);
  const std::string path = dir.file("c.safetensors");
  save_checkpoint(path, a, {}, cfg, 1);
  std::vector<uint8_t> bytes = read_bytes(path);
  bytes[bytes.size() - 5] ^= 0x40;
  const std::string bad = dir.file("flipped.safetensors");
  write_bytes(bad, bytes);
  Model b(model_spec(cfg));
  CHECK_THROWS_WITH(load_checkpoint(bad, b, {}), Contains("flipped.safetensors"));

  const Config other = parse_config(R"({"model": {"lanes": [{"type": "mlcn1", "width": 2, "depth": 1}]}})", "other");
  Model c(model_spec(other));
  CHECK_THROWS(load_checkpoint(path, c, {}));
}
