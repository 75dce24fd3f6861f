// The CLI's bad-input contract: a non-zero exit, one clear error line naming the file or key,
// and no damage to files already on disk.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/io/safetensors.h"

namespace fs = std::filesystem;

namespace {
const std::string kMlcn = std::string(MLCN_BINARY_DIR) + "/cli/mlcn";

struct Run {
  int status;
  std::string err;
};
Run run(const std::string& args) {
  // One file per process: ctest runs this binary's cases in parallel processes.
  fs::path errf = fs::temp_directory_path() / ("mlcn_cli_err." + std::to_string(::getpid()) + ".txt");
  int rc = std::system((kMlcn + " " + args + " > /dev/null 2> " + errf.string()).c_str());
  std::ifstream f(errf);
  std::stringstream ss;
  ss << f.rdbuf();
  return {WEXITSTATUS(rc), ss.str()};
}
fs::path write(const std::string& name, const std::string& text) {
  fs::path p = fs::temp_directory_path() / (std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}
int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}
}  // namespace

TEST_CASE("bad configs: unknown key, wrong type, invalid lane depth", "[cli]") {
  auto unknown = write("cfg_unknown.json", R"({"train": {"epoch": 3}})");
  Run r = run("info --config " + unknown.string());
  CHECK(r.status == 1);
  CHECK(r.err.find("unknown config key 'train.epoch'") != std::string::npos);
  CHECK(lines(r.err) == 1);
  auto wrong = write("cfg_type.json", R"({"train": {"batch_size": "big"}})");
  r = run("info --config " + wrong.string());
  CHECK(r.status == 1);
  CHECK(r.err.find("train.batch_size") != std::string::npos);
  auto depth = write("cfg_depth.json", R"({"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 6}]}})");
  r = run("info --config " + depth.string());
  CHECK(r.status == 1);
  CHECK(r.err.find("model.lanes[0]") != std::string::npos);
  CHECK(r.err.find("invalid") != std::string::npos);
  r = run("info --config " + unknown.string() + " --set train.epoch=1");
  CHECK(r.status == 1);
  r = run("info --config " + depth.string() + " --set 'model.lanes=[{\"type\":\"mlcn1\",\"width\":1,\"depth\":1}]'"
          " --set runtime.placement=bogus");
  CHECK(r.status == 1);
  CHECK(r.err.find("bogus") != std::string::npos);
  CHECK(lines(r.err) == 1);
  r = run("info --config /nonexistent/x.json");
  CHECK(r.status == 1);
  CHECK(r.err.find("/nonexistent/x.json") != std::string::npos);
}

TEST_CASE("a corrupt checkpoint is refused and left untouched", "[cli]") {
  fs::path p = fs::temp_directory_path() / ("corrupt." + std::to_string(::getpid()) + ".safetensors");
  {
    std::ofstream f(p, std::ios::binary);
    f << "this is not a checkpoint at all";
  }
  auto before = fs::file_size(p);
  Run r = run("eval --checkpoint " + p.string());
  CHECK(r.status == 1);
  CHECK(r.err.find(p.string()) != std::string::npos);
  CHECK(lines(r.err) == 1);
  CHECK(fs::file_size(p) == before);
}

TEST_CASE("usage errors exit 2", "[cli]") {
  CHECK(run("").status == 2);
  CHECK(run("frobnicate").status == 2);
}

TEST_CASE("a checkpoint whose stored config is not JSON: one line naming the file and key", "[cli]") {
  fs::path p = fs::temp_directory_path() / ("badcfg." + std::to_string(::getpid()) + ".safetensors");
  mlcn::StFile f;
  float v = 1;
  f.tensors["w"] = mlcn::StTensor::from_f32({1}, &v);
  f.metadata["config"] = "{\"model\": {\"lanes\": ";
  mlcn::write_safetensors(p.string(), f);
  Run r = run("eval --checkpoint " + p.string());
  CHECK(r.status == 1);
  CHECK(r.err.find(p.string()) != std::string::npos);
  CHECK(r.err.find("metadata \"config\"") != std::string::npos);
  CHECK(r.err.find("parse_error") == std::string::npos);  // no raw nlohmann text
  CHECK(lines(r.err) == 1);
  fs::remove(p);
}
