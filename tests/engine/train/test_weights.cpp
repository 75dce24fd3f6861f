// Weights-only files (engine/train/weights.h): a round trip through the exchange layout,
// checkpoints accepted as weights, and each defect one error naming the file and tensor.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/train/weights.h"
#include "file_test_util.h"

namespace {
mlcn::Config tiny(int width) {
  return mlcn::parse_config(R"({"model": {"lanes": [{"type": "mlcn1", "width": )" + std::to_string(width) +
                                R"(, "depth": 1}]}})",
                            "test");
}
}  // namespace

TEST_CASE("weights: save, load into a fresh model, same values", "[weights]") {
  mlcn_test::TempDir tmp;
  mlcn::Config cfg = tiny(1);
  mlcn::Model a(mlcn::model_spec(cfg)), b(mlcn::model_spec(cfg));
  a.init(1);
  b.init(2);
  mlcn::save_weights(tmp.file("w.safetensors"), a, cfg);
  mlcn::load_weights(tmp.file("w.safetensors"), b);
  for (size_t i = 0; i < a.all_params().size(); ++i) {
    const mlcn::Tensor& x = a.all_params()[i]->var->value;
    const mlcn::Tensor& y = b.all_params()[i]->var->value;
    REQUIRE(x.numel() == y.numel());
    for (int64_t k = 0; k < x.numel(); k += 97) REQUIRE(x.data<float>()[k] == y.data<float>()[k]);
  }
  CHECK(mlcn::stored_config(tmp.file("w.safetensors"))["model"]["lanes"][0]["width"] == 1);
}

TEST_CASE("weights: non-finite values are refused on load and never written", "[weights]") {
  mlcn_test::TempDir tmp;
  mlcn::Config cfg = tiny(1);
  mlcn::Model a(mlcn::model_spec(cfg)), b(mlcn::model_spec(cfg));
  a.init(1);
  const std::string w = tmp.file("w.safetensors");
  mlcn::save_weights(w, a, cfg);
  mlcn::StFile f = mlcn::read_safetensors(w);
  const std::string name = a.all_params()[0]->name;
  std::vector<float> v = f.at(name).to_f32();
  v[3] = std::numeric_limits<float>::infinity();
  f.tensors[name] = mlcn::StTensor::from_f32(f.at(name).shape, v.data());
  mlcn::write_safetensors(w, f);
  CHECK_THROWS_WITH(mlcn::load_weights(w, b), Catch::Contains(w) && Catch::Contains("tensor " + name) &&
                                                  Catch::Contains("non-finite value (inf at element 3)"));
  a.all_params()[1]->var->value.data<float>()[0] = std::nanf("");
  const std::string out = tmp.file("nan.safetensors");
  CHECK_THROWS_WITH(mlcn::save_weights(out, a, cfg), Catch::Contains("not written") && Catch::Contains("non-finite"));
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("weights: wrong model, extra tensor, JSON text, all named", "[weights]") {
  mlcn_test::TempDir tmp;
  mlcn::Config c1 = tiny(1), c2 = tiny(2);
  mlcn::Model a(mlcn::model_spec(c1)), b(mlcn::model_spec(c2));
  a.init(1);
  const std::string w = tmp.file("w.safetensors");
  mlcn::save_weights(w, a, c1);
  CHECK_THROWS_WITH(mlcn::load_weights(w, b), Catch::Contains(w) && Catch::Contains("has shape"));
  mlcn::StFile f = mlcn::read_safetensors(w);
  float v = 1;
  f.tensors["stray"] = mlcn::StTensor::from_f32({}, &v);
  mlcn::write_safetensors(w, f);
  CHECK_THROWS_WITH(mlcn::load_weights(w, a), Catch::Contains("stray is not a parameter"));
  std::ofstream(tmp.file("c.json")) << R"({"model": {"type": "capsnet"}})";
  CHECK_THROWS_WITH(mlcn::check_safetensors_file(tmp.file("c.json")),
                    Catch::Contains("not a safetensors file") && Catch::Contains("JSON"));
  CHECK_THROWS_WITH(mlcn::check_safetensors_file(tmp.file("none")), Catch::Contains("cannot open"));
}

TEST_CASE("weights: a stored config that is not JSON or not an object is named with the file", "[weights]") {
  mlcn_test::TempDir tmp;
  mlcn::Config cfg = tiny(1);
  mlcn::Model a(mlcn::model_spec(cfg));
  a.init(1);
  const std::string w = tmp.file("w.safetensors");
  mlcn::save_weights(w, a, cfg);
  mlcn::StFile f = mlcn::read_safetensors(w);
  f.metadata["config"] = "{\"model\": ";
  mlcn::write_safetensors(w, f);
  CHECK_THROWS_WITH(mlcn::stored_config(w), Catch::Contains(w) && Catch::Contains("metadata \"config\""));
  f.metadata["config"] = "[1, 2]";
  mlcn::write_safetensors(w, f);
  CHECK_THROWS_WITH(mlcn::stored_config(w), Catch::Contains(w) && Catch::Contains("expected an object"));
}
