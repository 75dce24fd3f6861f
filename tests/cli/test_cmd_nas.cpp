// `mlcn nas` through the CLI library: --generate-only prints the search's models (the same for
// the same seed), and usage errors exit 2 naming the flag.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "nas/generator.h"
#include "nas/nas_config.h"

#include "cli_run.h"

using namespace mlcn;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kConfig = R"({"nas": {"iterations": 5, "epochs": 2, "repeats": 2, "seed": 3, "width": [1, 3],
  "depth": [1, 3], "buckets": {"count": 2, "memory_gib": 1, "load": 0.5}}, "train": {"batch_size": 50}})";

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::path(MLCN_BINARY_DIR) / ("test_cmd_nas_" + name);
  fs::remove_all(d);
  return d;
}

// The stderr of `mlcn nas ARGS`, which must be a usage error (exit 2).
std::string nas_usage_error(std::vector<std::string> args) {
  args.insert(args.begin(), "nas");
  CliRun r = run_cli(args);
  CHECK(r.status == 2);
  return r.err;
}

}  // namespace

TEST_CASE("nas --generate-only prints the search's models, the same for the same seed", "[nas][cli]") {
  fs::path dir = fresh_dir("generate");
  fs::create_directories(dir);
  const std::string path = (dir / "nas.json").string();
  std::ofstream(path) << kConfig;
    CliRun a = run_cli({"nas", "--config", path, "--generate-only", "--count", "20"});
  CliRun b = run_cli({"nas", "--generate-only", "--config", path, "--count", "20"});
  CliRun c = run_cli({"nas", "--config", path, "--generate-only", "--set", "nas.seed=9"});
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  REQUIRE(c.status == 0);
  CHECK(a.out == b.out);
  std::istringstream la(a.out), lc(c.out);
  std::vector<std::string> lines, other;
  for (std::string l; std::getline(la, l);) lines.push_back(l);
  for (std::string l; std::getline(lc, l);) other.push_back(l);
  REQUIRE(lines.size() == 20);
  CHECK(other.size() == 5);  // nas.iterations
  NasConfig cfg = load_nas_config(path);
  ModelGenerator gen(cfg.space);
  for (int id = 0; id < 20; ++id) {
    json m = json::parse(lines[size_t(id)]);
    CHECK(m["id"] == id);
    CHECK(m.dump() == json::parse(model_to_json(gen.generate(3, id), cfg.space).dump()).dump());
  }
  CHECK(json::parse(other[0])["lanes"] != json::parse(lines[0])["lanes"]);
  using Catch::Matchers::Contains;
  CHECK_THAT(nas_usage_error({"--generate-only"}), Contains("--config FILE is required"));
  CHECK_THAT(nas_usage_error({"--config", path, "--count", "3"}), Contains("--generate-only"));
  CHECK_THAT(nas_usage_error({"--config", path, "--count", "x", "--generate-only"}), Contains("--count"));
  CHECK_THAT(nas_usage_error({"--resume", dir.string(), "--set", "nas.seed=1"}),
                    Contains("--set needs --config"));
  CHECK_THAT(nas_usage_error({"--resume", dir.string(), "--generate-only"}), Contains("--resume"));
  CHECK_THAT(nas_usage_error({"--config", path, "--bogus", "1"}), Contains("unknown argument"));
}
