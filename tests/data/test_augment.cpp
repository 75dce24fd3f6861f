// Augmentation on the batcher: horizontal flips (each image mirrored or not, half of them over
// many images, a pure function of (seed, epoch, step), resumable, not touching the shuffle or
// the labels), and crop_padding (a random crop of the zero-padded image: every shift in
// [-P, P] occurs, no other), checked against an independent reference.
#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "base/check.h"
#include "data/batcher.h"

using namespace mlcn;

namespace {

// n images of 6 x 5 x 2 with pixel values 1..254 that differ between positions.
Dataset make_images(int64_t n) {
  Dataset d;
  d.n = n, d.H = 6, d.W = 5, d.C = 2, d.classes = 10;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < d.image_bytes(); ++p) d.images.push_back(static_cast<uint8_t>(1 + (p * 7 + i * 3) % 250));
    d.labels.push_back(static_cast<uint8_t>(i % 10));
  }
  return d;
}

std::vector<float> batch_images(const Batcher& b, int64_t epoch, int64_t step, std::vector<int32_t>* labels = nullptr) {
  const int64_t B = b.options().batch_size;
  std::vector<float> img(static_cast<size_t>(B * 60));
  std::vector<int32_t> lab(static_cast<size_t>(B));
  const int64_t n = b.fill(epoch, step, img.data(), lab.data());
  img.resize(static_cast<size_t>(n * 60));
  if (labels) *labels = std::vector<int32_t>(lab.begin(), lab.begin() + n);
  return img;
}

// Pixel (y, x, c) of image `i` of the dataset, scaled.
float src(const Dataset& d, int64_t i, int y, int x, int c) {
  return static_cast<float>(d.images[((i * d.H + y) * d.W + x) * d.C + c]) / 255.0f;
}

}  // namespace

TEST_CASE("augment: flips mirror whole images, about half of them, as a pure function of (seed, epoch, step)",
          "[data][augment]") {
  const Dataset d = make_images(400);
  BatchOptions plain, flip;
  plain.batch_size = flip.batch_size = 40;
  plain.seed = flip.seed = 3;
  flip.flip = true;
  Batcher a(d, plain), b(d, flip);
  int64_t mirrored = 0, total = 0;
  for (int64_t s = 0; s < a.steps_per_epoch(); ++s) {
    std::vector<int32_t> la, lb;
    const std::vector<float> x = batch_images(a, 1, s, &la), y = batch_images(b, 1, s, &lb);
    REQUIRE(la == lb);  // the shuffle is untouched
    for (size_t k = 0; k < la.size(); ++k) {
      bool same = true, mirror = true;
      for (int r = 0; r < 6; ++r)
        for (int c = 0; c < 5; ++c)
          for (int ch = 0; ch < 2; ++ch) {
            const float got = y[k * 60 + (r * 5 + c) * 2 + ch];
            same = same && got == x[k * 60 + (r * 5 + c) * 2 + ch];
            mirror = mirror && got == x[k * 60 + (r * 5 + (4 - c)) * 2 + ch];
          }
      REQUIRE((same || mirror));
      mirrored += mirror && !same;
      ++total;
    }
    CHECK(batch_images(b, 1, s) == y);  // the same batch again
  }
  CHECK(mirrored > total * 4 / 10);
  CHECK(mirrored < total * 6 / 10);
  CHECK(batch_images(b, 2, 0) != batch_images(b, 1, 0));
}

TEST_CASE("augment: flipped batches resume exactly and prefetch gives the same batches", "[data][augment]") {
  const Dataset d = make_images(90);
  BatchOptions o;
  o.batch_size = 20;
  o.flip = true;
  o.crop_padding = 2;
  o.seed = 11;
  Batcher ref(d, o);
  std::vector<std::vector<float>> want;
  for (int64_t e = 0; e < 2; ++e)
    for (int64_t s = 0; s < ref.steps_per_epoch(); ++s) want.push_back(batch_images(ref, e, s));
  o.prefetch = true;
  Batcher resumed(d, o);
  resumed.seek(0, 3);  // a run resumed at step 3 of epoch 0
  for (size_t k = 3; k < want.size(); ++k) {
    Batch b = resumed.next();
    REQUIRE(std::vector<float>(b.images, b.images + b.size * 60) == want[k]);
  }
}

TEST_CASE("augment: crop_padding P gives every shift in [-P, P] with zero fill, and no other", "[data][augment]") {
  const Dataset d = make_images(1);
  BatchOptions o;
  o.batch_size = 1;
  o.crop_padding = 2;
  Batcher b(d, o);
  std::set<std::pair<int, int>> seen;
  for (int64_t e = 0; e < 300; ++e) {
    const std::vector<float> x = batch_images(b, e, 0);
    int found = 0;
    for (int dy = -2; dy <= 2; ++dy)
      for (int dx = -2; dx <= 2; ++dx) {
        bool match = true;
        for (int y = 0; y < 6 && match; ++y)
          for (int xx = 0; xx < 5 && match; ++xx)
            for (int c = 0; c < 2 && match; ++c) {
              const int sy = y - dy, sx = xx - dx;
              const float want = sy < 0 || sy >= 6 || sx < 0 || sx >= 5 ? 0.f : src(d, 0, sy, sx, c);
              match = x[(y * 5 + xx) * 2 + c] == want;
            }
        if (match) seen.insert({dy, dx}), ++found;
      }
    REQUIRE(found == 1);
  }
  CHECK(seen.size() == 25);
}

TEST_CASE("augment: crop_padding out of range or together with shift_fraction is refused", "[data][augment]") {
  const Dataset d = make_images(4);
  BatchOptions o;
  o.crop_padding = 5;  // the image is 6 x 5
  CHECK_THROWS_WITH(Batcher(d, o), Catch::Contains("crop_padding 5"));
  o.crop_padding = 1;
  o.shift_fraction = 0.1;
  CHECK_THROWS_WITH(Batcher(d, o), Catch::Contains("set one of them"));
}
