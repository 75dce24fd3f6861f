// `mlcn step --dump`: one forward/backward on the first batch_size test images writes the loss
// parts, lengths (B, classes) and grad.<name> for every parameter in the exchange layout.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cmath>
#include <filesystem>

#include "engine/io/safetensors.h"
#include "engine/models/model.h"
#include "engine/train/config.h"

namespace fs = std::filesystem;

TEST_CASE("mlcn step dumps the loss, lengths and every gradient", "[cli][step]") {
  // dataset-fashion-mnist is a dependency (cli/setup.sh installs it): its absence is a failure.
  INFO("/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist");
  REQUIRE(fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"));
  const fs::path dump = fs::temp_directory_path() / "mlcn_step_dump.safetensors";
  fs::remove(dump);
  const std::string cfg = std::string(MLCN_SOURCE_DIR) + "/configs/default.json";
  std::string cmd = std::string(MLCN_BINARY_DIR) + "/cli/mlcn step --config " + cfg +
                    " --set train.batch_size=7 --dump " + dump.string() + " > /dev/null 2>&1";
  REQUIRE(WEXITSTATUS(std::system(cmd.c_str())) == 0);
  mlcn::StFile f = mlcn::read_safetensors(dump.string());
  const double loss = f.at("loss").to_f64()[0], margin = f.at("loss_margin").to_f64()[0],
               recon = f.at("loss_recon").to_f64()[0];
  CHECK(loss == Approx(margin + 0.392 * recon).epsilon(1e-5));
  CHECK(f.at("lengths").shape == std::vector<int64_t>{7, 10});
  mlcn::Model model(mlcn::model_spec(mlcn::load_config(cfg)));
  for (mlcn::Param* p : model.all_params()) {
    INFO(p->name);
    REQUIRE(f.has("grad." + p->name));
    CHECK(f.at("grad." + p->name).shape == mlcn::exchange_shape(*p));
    double norm = 0;
    for (double g : f.at("grad." + p->name).to_f64()) norm += g * g;
    CHECK(std::isfinite(norm));
    CHECK(norm > 0);
  }
}
