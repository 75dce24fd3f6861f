// `mlcn export`: weights only (no Adam state), every parameter under its name in the exchange
// (PyTorch) layout, and the same accuracy as the checkpoint it came from. The PyTorch side of
// the round trip is bench/peer/export_roundtrip.py (ctest peer_export_roundtrip).
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "engine/io/safetensors.h"
#include "engine/train/config.h"
#include "file_test_util.h"
#include "tiny_run.h"

TEST_CASE("export: weights only, PyTorch names and shapes, same accuracy", "[cli][export]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 1);
  const std::string w = tmp.file("w.safetensors");
  CliRun r = run_cli({"export", "--checkpoint", run + "/last.safetensors", "--out", w});
  INFO(r.err);
  REQUIRE(r.status == 0);
  mlcn::StFile f = mlcn::read_safetensors(w);
  CHECK(f.metadata.at("format") == "mlcn-weights-1");
  mlcn::Config cfg = mlcn::parse_config(f.metadata.at("config"), "export");
  mlcn::Model model(mlcn::model_spec(cfg));
  REQUIRE(f.tensors.size() == model.all_params().size());
  for (mlcn::Param* p : model.all_params()) {
    INFO(p->name);
    REQUIRE(f.has(p->name));
    CHECK(f.at(p->name).shape == mlcn::exchange_shape(*p));
  }
  CHECK(f.has("lanes.0.conv1.weight"));
  CHECK(f.at("lanes.0.conv1.weight").shape.size() == 4);  // (K, C, kh, kw)

  CliRun a = run_cli({"eval", "--checkpoint", run + "/last.safetensors", "--set", "data.test_limit=100"});
  CliRun b = run_cli({"eval", "--checkpoint", w, "--set", "data.test_limit=100"});
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  CHECK(nlohmann::json::parse(a.out)["accuracy"] == nlohmann::json::parse(b.out)["accuracy"]);
  CHECK(nlohmann::json::parse(a.out)["loss"] == nlohmann::json::parse(b.out)["loss"]);

  // Never onto its own input or into a run's folder: the run stays resumable, byte for byte.
  const std::string last = run + "/last.safetensors";
  const std::vector<uint8_t> before = mlcn_test::read_bytes(last);
  r = run_cli({"export", "--checkpoint", last, "--out", last});
  CHECK(r.status == 1);
  CHECK(r.err.find("--out is the checkpoint being exported") != std::string::npos);
  r = run_cli({"export", "--checkpoint", w, "--out", run + "/weights.safetensors"});
  CHECK(r.status == 1);
  CHECK(r.err.find("inside a training run's folder") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(run + "/weights.safetensors"));
  const bool unchanged = mlcn_test::read_bytes(last) == before;  // no decomposition of megabytes on failure
  CHECK(unchanged);

  CHECK(run_cli({"export", "--checkpoint", run}).status == 2);
  r = run_cli({"export", "--checkpoint", run, "--out", tmp.path});
  CHECK(r.status == 1);
  CHECK(r.err.find("names a directory") != std::string::npos);
}
