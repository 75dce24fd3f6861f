// The engine against tests/golden: one training-mode step of an MLCN (3 heterogeneous
// lanes) and of CapsNet computed in float64 by an independent implementation. Weights come from
// the closed form in golden/README.md, written in the exchange (PyTorch) layout and converted.
// This is what catches a capsule order or a decoder input order that differs from the originals.
// Tolerances (golden/README.md): lengths and losses 1e-4 relative in float32; sampled gradient
// entries within 1e-3 of the parameter's gradient norm. In float64 we require 1e-9 instead.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "base/rng.h"
#include "engine/io/safetensors.h"
#include "engine/train/config.h"
#include "golden_util.h"

using namespace mlcn;

namespace {

void check_golden(const std::string& file, DType dt, double loss_tol, double grad_tol) {
  const std::string path = golden_dir() + "/" + file;
  // The golden files ship with the repository (tests/golden): a missing one is a failure.
  REQUIRE(std::filesystem::exists(path));
  GoldenStep g = run_golden_step(path, dt);
  const StFile& f = g.file;
  auto expect_close = [&](const char* what, double got, double want, double tol) {
    INFO(file << " " << what << ": got " << got << " want " << want);
    CHECK(std::fabs(got - want) <= tol * std::max(1.0, std::fabs(want)));
  };
  expect_close("loss", g.loss, f.at("expected.loss").to_f64()[0], loss_tol);
  expect_close("loss_margin", g.margin, f.at("expected.loss_margin").to_f64()[0], loss_tol);
  expect_close("loss_recon", g.recon, f.at("expected.loss_recon").to_f64()[0], loss_tol);
  auto lengths = f.at("expected.lengths").to_f64();
  REQUIRE(static_cast<int64_t>(lengths.size()) == g.lengths.numel());
  for (size_t i = 0; i < lengths.size(); ++i) expect_close("lengths", g.lengths.item(i), lengths[i], loss_tol);
  int compared = 0;
  for (auto& [name, grad] : g.grads) {
    REQUIRE(f.has("grad_index." + name));
    auto idx = f.at("grad_index." + name).to_i64();
    auto want = f.at("grad_sample." + name).to_f64();
    double norm = f.at("grad_norm." + name).to_f64()[0];
    for (size_t k = 0; k < idx.size(); ++k) {
      double got = grad.item(idx[k]);
      INFO(file << " grad." << name << "[" << idx[k] << "]: got " << got << " want " << want[k] << " norm " << norm);
      CHECK(std::fabs(got - want[k]) <= grad_tol * std::max(norm, 1e-30));
      ++compared;
    }
  }
  CHECK(compared > 0);
}

}  // namespace

TEST_CASE("golden: MLCN (mlcn1 w2 d2, mlcn1 w1 d1, mlcn2 w1) matches the independent step", "[golden]") {
  check_golden("mlcn_fmnist.safetensors", DType::F64, 1e-9, 1e-9);
  check_golden("mlcn_fmnist.safetensors", DType::F32, 1e-4, 1e-3);
}

TEST_CASE("golden: CapsNet matches the independent step", "[golden]") {
  check_golden("capsnet_fmnist.safetensors", DType::F64, 1e-9, 1e-9);
  check_golden("capsnet_fmnist.safetensors", DType::F32, 1e-4, 1e-3);
}
