// `mlcn eval`: a run directory means its best checkpoint, the whole test set unless asked
// otherwise, and files that are not checkpoints get one line saying what they are.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "engine/io/safetensors.h"
#include "file_test_util.h"
#include "tiny_run.h"

namespace fs = std::filesystem;

TEST_CASE("eval: a run directory, the whole test set by default, test_limit on request", "[cli][eval]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 1);  // trained with data.test_limit = 50
  CliRun r = run_cli({"eval", "--checkpoint", run});
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["checkpoint"] == (fs::path(run) / "best.safetensors").string());
  CHECK(j["images"] == 10000);  // not the run's test_limit
  r = run_cli({"eval", "--checkpoint", run, "--set", "data.test_limit=30"});
  REQUIRE(r.status == 0);
  CHECK(nlohmann::json::parse(r.out)["images"] == 30);
  r = run_cli({"eval", "--checkpoint", tmp.path});
  CHECK(r.status == 1);
  CHECK(r.err.find("without best.safetensors or last.safetensors") != std::string::npos);
}

TEST_CASE("eval: a JSON file or a file without metadata is named for what it is", "[cli][eval]") {
  mlcn_test::TempDir tmp;
  const std::string cfg = mlcn_test::tiny_config(tmp.path);
  const std::string before = mlcn_test::read_text(cfg);
  CliRun r = run_cli({"eval", "--checkpoint", cfg});
  CHECK(r.status == 1);
  CHECK(r.err.find(cfg + ": not a safetensors file") != std::string::npos);
  CHECK(mlcn_test::count_lines(r.err) == 1);
  CHECK(mlcn_test::read_text(cfg) == before);

  mlcn::StFile f;  // weights without metadata and without the model's tensors
  float v[2] = {1, 2};
  f.tensors["x"] = mlcn::StTensor::from_f32({2}, v);
  const std::string bare = tmp.file("bare.safetensors");
  mlcn::write_safetensors(bare, f);
  r = run_cli({"eval", "--checkpoint", bare});
  CHECK(r.status == 1);
  CHECK(r.err.find("carries no training config") != std::string::npos);
  CHECK(r.err.find("--config") != std::string::npos);
  r = run_cli({"eval", "--checkpoint", bare, "--config", cfg});
  CHECK(r.status == 1);
  CHECK(r.err.find(bare + ": no tensor ") != std::string::npos);
  CHECK(mlcn_test::count_lines(r.err) == 1);
}

TEST_CASE("train --resume: a checkpoint without its metadata is refused in one line", "[cli][train]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 1);
  const std::string last = run + "/last.safetensors";
  mlcn::StFile f = mlcn::read_safetensors(last);
  f.metadata.erase("epoch");
  mlcn::write_safetensors(last, f);
  CliRun r = run_cli({"train", "--resume", run, "--set", "train.epochs=2"});
  CHECK(r.status == 1);
  CHECK(r.err.find(last + ": not an mlcn training checkpoint (its metadata has no 'epoch')") != std::string::npos);
  CHECK(mlcn_test::count_lines(r.err) == 1);
  const std::string w = tmp.file("w.safetensors");
  REQUIRE(run_cli({"export", "--checkpoint", run, "--out", w}).status == 0);
  std::filesystem::copy_file(w, last, std::filesystem::copy_options::overwrite_existing);
  r = run_cli({"train", "--resume", run, "--set", "train.epochs=2"});
  CHECK(r.status == 1);
  CHECK(r.err.find("weights-only file") != std::string::npos);
}
