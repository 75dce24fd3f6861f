// `mlcn predict`: classes with capsule lengths (JSON, CSV), confusion matrix and per-class
// accuracy that agree with each other, IDX files and PNG directories giving the same answer,
// and --recon PNGs of input beside reconstruction.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/png.h"
#include "cli_run.h"
#include "data/idx.h"
#include "file_test_util.h"
#include "tiny_run.h"

namespace fs = std::filesystem;

TEST_CASE("predict --dataset test: predictions, confusion matrix, per-class accuracy, CSV", "[cli][predict]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 1);
  CliRun r = run_cli({"predict", "--checkpoint", run, "--dataset", "test", "--limit", "20"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["predictions"].size() == 20);
  int64_t correct = 0, total = 0, trace = 0;
  for (const auto& p : j["predictions"]) {
    std::vector<float> len = p["lengths"];
    REQUIRE(len.size() == 10);
    CHECK(p["class"] == std::max_element(len.begin(), len.end()) - len.begin());
    correct += p["class"] == p["label"];
  }
  for (size_t k = 0; k < 10; ++k) {
    int64_t row = 0;
    for (size_t c = 0; c < 10; ++c) row += j["confusion"][k][c].get<int64_t>();
    total += row;
    trace += j["confusion"][k][k].get<int64_t>();
    if (row == 0) CHECK(j["per_class_accuracy"][k].is_null());
    else CHECK(j["per_class_accuracy"][k].get<double>() == Approx(double(j["confusion"][k][k].get<int64_t>()) / row));
  }
  CHECK(total == 20);
  CHECK(trace == correct);
  CHECK(j["accuracy"].get<double>() == Approx(correct / 20.0));

  r = run_cli({"predict", "--checkpoint", run, "--dataset", "test", "--limit", "20", "--format", "csv"});
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind("index,label,class,length_0,", 0) == 0);
  CHECK(mlcn_test::count_lines(r.out) == 21);
  CHECK(run_cli({"predict", "--checkpoint", run}).status == 2);
  CHECK(run_cli({"predict", "--checkpoint", run, "--dataset", "train"}).status == 2);
  CHECK(run_cli({"predict", "--checkpoint", run, "--dataset", "test", "--format", "xml"}).status == 2);
}

TEST_CASE("predict --images: an IDX file and a PNG directory agree, --recon writes PNGs", "[cli][predict]") {
  mlcn_test::TempDir tmp;
  const std::string run = mlcn_test::train_tiny(tmp.path, 1);
  std::vector<uint8_t> px(3 * 28 * 28);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 37) % 251);
  const std::string idx = tmp.file("imgs.idx.gz");
  mlcn::write_idx_u8(idx, {3, 28, 28}, px, true);
  fs::create_directories(tmp.file("pngs"));
  for (int i = 0; i < 3; ++i)
    mlcn::cli::write_png(tmp.file("pngs/img" + std::to_string(i) + ".png"),
                         {28, 28, 1, std::vector<uint8_t>(px.begin() + i * 784, px.begin() + (i + 1) * 784)});
  const std::string recon = tmp.file("recon");
  CliRun a = run_cli({"predict", "--checkpoint", run, "--images", idx, "--recon", recon});
  CliRun b = run_cli({"predict", "--checkpoint", run, "--images", tmp.file("pngs")});
  INFO(a.err << b.err);
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  REQUIRE(ja["predictions"].size() == 3);
  CHECK(!ja.contains("confusion"));  // no labels given
  for (int i = 0; i < 3; ++i) {
    CHECK(ja["predictions"][i]["lengths"] == jb["predictions"][i]["lengths"]);
    CHECK(jb["predictions"][i]["file"] == "img" + std::to_string(i) + ".png");
  }
  std::vector<fs::path> pngs;
  for (const auto& e : fs::directory_iterator(recon)) pngs.push_back(e.path());
  std::sort(pngs.begin(), pngs.end());
  REQUIRE(pngs.size() == 3);
  mlcn::cli::Image img = mlcn::cli::read_png(pngs[0].string(), 1);
  CHECK(img.width == 56);
  CHECK(img.height == 28);
  for (int y = 0; y < 28; ++y)  // the left half is the input
    for (int x = 0; x < 28; ++x) REQUIRE(img.pixels[size_t(y * 56 + x)] == px[size_t(y * 28 + x)]);
  CHECK(pngs[0].filename().string().rfind("00000_pred", 0) == 0);
  CliRun bad = run_cli({"predict", "--checkpoint", run, "--images", tmp.file("nothing.idx")});
  CHECK(bad.status == 1);
  CHECK(bad.err.find("nothing.idx") != std::string::npos);
}
