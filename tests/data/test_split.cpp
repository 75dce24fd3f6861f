// The validation split: disjoint from the training images and together all of them, the same
// images whatever the training seed (a fixed seed), file order kept, counts and fractions
// parsed with errors that name the key.
#include "data/split.h"

#include <catch2/catch.hpp>

#include <set>

#include "base/check.h"

using namespace mlcn;

namespace {

// n images of 2 x 2 x 1 whose first two pixels encode the index.
Dataset indexed(int64_t n) {
  Dataset d;
  d.n = n, d.H = 2, d.W = 2, d.C = 1, d.classes = 10;
  for (int64_t i = 0; i < n; ++i) {
    d.images.insert(d.images.end(), {uint8_t(i % 256), uint8_t(i / 256), 7, 9});
    d.labels.push_back(uint8_t(i % 10));
  }
  return d;
}

std::vector<int64_t> ids(const Dataset& d) {
  std::vector<int64_t> out;
  for (int64_t k = 0; k < d.n; ++k) {
    out.push_back(d.images[k * 4] + 256 * d.images[k * 4 + 1]);
    REQUIRE(d.labels[k] == out.back() % 10);  // labels travel with their images
  }
  return out;
}

}  // namespace

TEST_CASE("validation split: disjoint, complete, in file order, and fixed", "[data][split]") {
  const Dataset all = indexed(5000);
  const TrainValidation s = split_validation(all, 500);
  REQUIRE(s.train.n == 4500);
  REQUIRE(s.validation.n == 500);
  const std::vector<int64_t> t = ids(s.train), v = ids(s.validation);
  std::set<int64_t> every(t.begin(), t.end());
  for (int64_t i : v) CHECK(every.insert(i).second);  // no validation image is a training image
  CHECK(every.size() == 5000);
  CHECK(std::is_sorted(t.begin(), t.end()));
  CHECK(std::is_sorted(v.begin(), v.end()));
  // Spread over the file, not its first or last images.
  CHECK(v.front() < 100);
  CHECK(v.back() > 4900);
  // The same images every time (a resumed run, another train.seed).
  CHECK(ids(split_validation(all, 500).validation) == v);
  CHECK(split_validation(all, 0).validation.n == 0);
  CHECK(split_validation(all, 0).train.n == 5000);
}

TEST_CASE("validation split: counts and fractions", "[data][split]") {
  CHECK(validation_count(0, 100, "data.validation") == 0);
  CHECK(validation_count(0.1, 60000, "data.validation") == 6000);
  CHECK(validation_count(0.001, 10, "data.validation") == 1);  // a fraction holds out at least one image
  CHECK(validation_count(250, 1000, "data.validation") == 250);
  CHECK_THROWS_WITH(validation_count(1000, 1000, "data.validation"), Catch::Contains("leaves none to train on"));
  CHECK_THROWS_WITH(validation_count(2.5, 1000, "data.validation"), Catch::Contains("must be an integer"));
  CHECK_THROWS_WITH(validation_count(-1, 1000, "data.validation"), Catch::Contains("data.validation"));
}
