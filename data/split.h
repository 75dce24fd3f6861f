// The validation split: a part of a training set held out by a fixed seed, never trained on.
// The held-out images depend only on the training set's size and the count, not on
// train.seed, so runs with different seeds (and a resumed run) share one validation set and
// their validation accuracies compare like with like.
#pragma once
#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace mlcn {

// data.validation -> a count of images: 0 = none; a value in (0, 1) = that fraction of n,
// rounded, at least 1; an integer >= 1 = that many. Errors name `key` and leave at least one
// training image.
int64_t validation_count(double spec, int64_t n, const std::string& key);

struct TrainValidation {
  Dataset train;       // the images not held out, in file order
  Dataset validation;  // the held-out images, in file order (n = 0 when count is 0)
};

// Splits `all` into `count` held-out images (a uniform random subset chosen by a fixed seed)
// and the rest. Both keep the file order of the images they hold.
TrainValidation split_validation(const Dataset& all, int64_t count);

}  // namespace mlcn
