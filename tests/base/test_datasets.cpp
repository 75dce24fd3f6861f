// base/datasets: the one dataset table, its aliases and its error text.
#include <catch2/catch.hpp>

#include "base/check.h"
#include "base/datasets.h"

using namespace mlcn;

TEST_CASE("datasets: names, aliases, shapes", "[base]") {
  CHECK(dataset_info("fashion-mnist").H == 28);
  CHECK(dataset_info("fmnist").name == "fashion-mnist");
  CHECK(dataset_info("cifar-10").name == "cifar10");
  CHECK(dataset_info("cifar10").C == 3);
  CHECK(dataset_info("cifar10").train_images == 50000);
  CHECK(dataset_names() == "fashion-mnist or cifar10");
  CHECK_THROWS_WITH(dataset_info("mnist"), Catch::Contains("unknown dataset 'mnist': expected fashion-mnist or cifar10"));
}
