// A tiny training run for the CLI tests (one mlcn1 lane of width 1, 100 training and 50 test
// Fashion-MNIST images, batch 50): seconds on one core. Fails without the dataset package.
#pragma once
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"

namespace mlcn_test {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Writes the tiny config into dir/tiny.json and returns its path.
inline std::string tiny_config(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path p = dir / "tiny.json";
  std::ofstream(p) << R"({"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 1}]},
                         "data": {"train_limit": 100, "test_limit": 50},
                         "train": {"batch_size": 50, "log_every": 1}, "runtime": {"threads": 1}})";
  return p.string();
}

// `mlcn train` of the tiny config into dir/run for `epochs` epochs (+ extra arguments).
inline std::string train_tiny(const std::filesystem::path& dir, int epochs, std::vector<std::string> extra = {}) {
  // dataset-fashion-mnist is a dependency (cli/setup.sh installs it): its absence is a failure.
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"));
  const std::string run = (dir / "run").string();
  std::vector<std::string> args = {"train", "--config", tiny_config(dir), "--out", run,
                                   "--set", "train.epochs=" + std::to_string(epochs)};
  args.insert(args.end(), extra.begin(), extra.end());
  CliRun r = run_cli(args);
  INFO(r.err);
  REQUIRE(r.status == 0);
  return run;
}

}  // namespace mlcn_test
