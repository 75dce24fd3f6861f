// The validation split (see split.h).
#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "base/rng.h"

namespace mlcn {
namespace {

constexpr uint64_t kValidationSeed = 0x76616c6964ULL;  // "valid": fixed, independent of train.seed

// The images of `all` at `idx` (sorted), as a dataset of their own.
Dataset gather(const Dataset& all, const std::vector<int64_t>& idx) {
  Dataset d;
  d.n = static_cast<int64_t>(idx.size());
  d.H = all.H, d.W = all.W, d.C = all.C, d.classes = all.classes;
  const int64_t bytes = all.image_bytes();
  d.images.resize(static_cast<size_t>(d.n * bytes));
  d.labels.resize(static_cast<size_t>(d.n));
  for (int64_t k = 0; k < d.n; ++k) {
    std::memcpy(d.images.data() + k * bytes, all.images.data() + idx[k] * bytes, static_cast<size_t>(bytes));
    d.labels[k] = all.labels[idx[k]];
  }
  return d;
}

}  // namespace

int64_t validation_count(double spec, int64_t n, const std::string& key) {
  MLCN_CHECK(std::isfinite(spec) && spec >= 0, key << " must be 0 (none), a fraction in (0, 1) or an image count, got "
                                                   << spec);
  if (spec == 0) return 0;
  int64_t count = 0;
  if (spec < 1) {
    count = std::max<int64_t>(1, std::llround(spec * double(n)));
  } else {
    MLCN_CHECK(spec == std::floor(spec) && spec <= 1e12,
               key << " = " << spec << ": a value >= 1 is an image count and must be an integer");
    count = static_cast<int64_t>(spec);
  }
  MLCN_CHECK(count < n, key << " = " << spec << " holds out " << count << " of the " << n
                            << " training images and leaves none to train on");
  return count;
}

TrainValidation split_validation(const Dataset& all, int64_t count) {
  MLCN_CHECK(count >= 0 && count < all.n,
             "validation split: " << count << " held-out images of a training set of " << all.n);
  // A partial Fisher-Yates shuffle picks `count` distinct indices uniformly.
  std::vector<int64_t> order(static_cast<size_t>(all.n));
  for (int64_t i = 0; i < all.n; ++i) order[i] = i;
  Rng rng(kValidationSeed);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(all.n - i)));
    std::swap(order[i], order[j]);
  }
  std::vector<int64_t> held(order.begin(), order.begin() + count), kept(order.begin() + count, order.end());
  std::sort(held.begin(), held.end());
  std::sort(kept.begin(), kept.end());
  TrainValidation out;
  out.train = gather(all, kept);
  out.validation = gather(all, held);
  if (count == 0) out.validation.n = 0;
  return out;
}

}  // namespace mlcn
