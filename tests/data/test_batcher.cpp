// Batcher: seeded per-epoch shuffles (reproducible, resumable, every image once), the
// sequential mode, partial batches, scaling to [0, 1], random shifts checked against an
// independent reference, and prefetch giving exactly the synchronous batches.
#include "data/batcher.h"

#include <catch2/catch.hpp>
#include <set>

#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;

namespace {

// n images of H x W x C; pixel 0 of image i is i + 1 (so an image is identified by it),
// the other pixels are distinct non-zero values; label i % classes.
Dataset make_data(int64_t n, int H, int W, int C, int classes = 10) {
  Dataset d;
  d.n = n;
  d.H = H;
  d.W = W;
  d.C = C;
  d.classes = classes;
  d.images.resize(static_cast<size_t>(n * H * W * C));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < H * W * C; ++p) {
      d.images[i * H * W * C + p] = static_cast<uint8_t>(p == 0 ? i + 1 : 1 + (p * 13 + i) % 254);
    }
    d.labels.push_back(static_cast<uint8_t>(i % classes));
  }
  return d;
}

// Which image a batch row holds, from its unshifted first pixel.
int64_t image_id(const float* row) { return static_cast<int64_t>(row[0] * 255.0f + 0.5f) - 1; }

struct Out {
  std::vector<float> images;
  std::vector<int32_t> labels;
  int64_t size;
  bool operator==(const Out& o) const {
    return size == o.size && images == o.images && labels == o.labels;
  }
};

Out fill_one(const Batcher& b, const Dataset& d, int64_t epoch, int64_t step) {
  Out o;
  o.images.assign(static_cast<size_t>(b.options().batch_size * d.image_bytes()), -1.0f);
  o.labels.assign(static_cast<size_t>(b.options().batch_size), -1);
  o.size = b.fill(epoch, step, o.images.data(), o.labels.data());
  o.images.resize(static_cast<size_t>(o.size * d.image_bytes()));
  o.labels.resize(static_cast<size_t>(o.size));
  return o;
}

Out copy_of(const Batch& bt, const Dataset& d) {
  Out o;
  o.size = bt.size;
  o.images.assign(bt.images, bt.images + bt.size * d.image_bytes());
  o.labels.assign(bt.labels, bt.labels + bt.size);
  return o;
}

// Reference shift: out(y, x) = in(y - dy, x - dx), zero outside, scaled by 1/255.
std::vector<float> shifted(const Dataset& d, int64_t i, int dy, int dx) {
  std::vector<float> out(static_cast<size_t>(d.image_bytes()), 0.0f);
  for (int y = 0; y < d.H; ++y) {
    for (int x = 0; x < d.W; ++x) {
      int sy = y - dy, sx = x - dx;
      if (sy < 0 || sy >= d.H || sx < 0 || sx >= d.W) continue;
      for (int c = 0; c < d.C; ++c) {
        out[(y * d.W + x) * d.C + c] =
            d.images[i * d.image_bytes() + (sy * d.W + sx) * d.C + c] / 255.0f;
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("batcher: every image exactly once per epoch, last batch partial", "[batcher]") {
  Dataset d = make_data(23, 3, 4, 1);
  BatchOptions opt;
  opt.batch_size = 5;
  opt.seed = 1701;
  Batcher b(d, opt);
  REQUIRE(b.steps_per_epoch() == 5);
  for (int64_t e = 0; e < 3; ++e) {
    std::vector<int> seen(23, 0);
    for (int64_t s = 0; s < 5; ++s) {
      Out o = fill_one(b, d, e, s);
      CHECK(o.size == (s < 4 ? 5 : 3));
      for (int64_t k = 0; k < o.size; ++k) {
        int64_t id = image_id(&o.images[k * d.image_bytes()]);
        REQUIRE((id >= 0 && id < 23));
        seen[id]++;
        CHECK(o.labels[k] == id % 10);
      }
    }
    CHECK(seen == std::vector<int>(23, 1));
  }
}

TEST_CASE("batcher: same seed same order, other epochs and seeds other orders", "[batcher]") {
  Dataset d = make_data(50, 2, 2, 1);
  BatchOptions opt;
  opt.batch_size = 8;
  opt.seed = 42;
  Batcher a(d, opt), b(d, opt);
  CHECK(a.epoch_order(0) == b.epoch_order(0));
  CHECK(a.epoch_order(3) == b.epoch_order(3));
  CHECK(a.epoch_order(0) != a.epoch_order(1));
  CHECK(a.epoch_order(1) != a.epoch_order(2));
  std::vector<int64_t> sorted = a.epoch_order(1);
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(sorted[i] == i);
  opt.seed = 43;
  Batcher c(d, opt);
  CHECK(c.epoch_order(0) != a.epoch_order(0));
  for (int64_t s = 0; s < a.steps_per_epoch(); ++s) {
    CHECK(fill_one(a, d, 2, s) == fill_one(b, d, 2, s));
  }
}

TEST_CASE("batcher: sequential mode serves the file order", "[batcher]") {
  Dataset d = make_data(10, 2, 3, 1);
  BatchOptions opt;
  opt.batch_size = 4;
  opt.shuffle = false;
  Batcher b(d, opt);
  int64_t expect = 0;
  for (int64_t s = 0; s < b.steps_per_epoch(); ++s) {
    Batch bt = b.next();
    CHECK(bt.step == s);
    for (int64_t k = 0; k < bt.size; ++k) {
      CHECK(image_id(bt.images + k * d.image_bytes()) == expect++);
    }
  }
  CHECK(expect == 10);
  CHECK(b.epoch() == 1);
  CHECK(b.epoch_order(5) == b.epoch_order(0));
}

TEST_CASE("batcher: drop_last drops the partial batch", "[batcher]") {
  Dataset d = make_data(23, 2, 2, 1);
  BatchOptions opt;
  opt.batch_size = 5;
  opt.drop_last = true;
  Batcher b(d, opt);
  CHECK(b.steps_per_epoch() == 4);
  std::set<int64_t> seen;
  for (int64_t s = 0; s < 4; ++s) {
    Out o = fill_one(b, d, 0, s);
    CHECK(o.size == 5);
    for (int64_t k = 0; k < 5; ++k) seen.insert(image_id(&o.images[k * d.image_bytes()]));
  }
  CHECK(seen.size() == 20);
  Batch last = b.next();
  for (int i = 0; i < 4; ++i) last = b.next();
  CHECK((last.epoch == 1 && last.step == 0));
}

TEST_CASE("batcher: pixels are scaled to [0, 1] exactly", "[batcher]") {
  Dataset d = make_data(1, 1, 3, 1);
  d.images = {0, 255, 51};
  BatchOptions opt;
  opt.batch_size = 1;
  Batcher b(d, opt);
  Batch bt = b.next();
  CHECK(bt.images[0] == 0.0f);
  CHECK(bt.images[1] == 1.0f);
  CHECK(bt.images[2] == 0.2f);
  CHECK(bt.labels[0] == 0);
}

TEST_CASE("batcher: shifts move the image by up to floor(f * size) with zero fill",
          "[batcher][shift]") {
  // 5x6x2 images, f = 0.4: up to 2 rows and 2 columns.
  Dataset d = make_data(9, 5, 6, 2);
  BatchOptions opt;
  opt.batch_size = 3;
  opt.shift_fraction = 0.4;
  opt.seed = 7;
  Batcher b(d, opt);
  std::set<std::pair<int, int>> shifts_seen;
  for (int64_t e = 0; e < 20; ++e) {
    std::vector<int64_t> order = b.epoch_order(e);
    for (int64_t s = 0; s < b.steps_per_epoch(); ++s) {
      Out o = fill_one(b, d, e, s);
      for (int64_t k = 0; k < o.size; ++k) {
        int64_t id = order[s * 3 + k];
        std::vector<float> got(o.images.begin() + k * d.image_bytes(),
                               o.images.begin() + (k + 1) * d.image_bytes());
        int matches = 0;
        for (int dy = -3; dy <= 3; ++dy) {
          for (int dx = -3; dx <= 3; ++dx) {
            if (got == shifted(d, id, dy, dx)) {
              ++matches;
              shifts_seen.insert({dy, dx});
            }
          }
        }
        CHECK(matches == 1);
        CHECK(o.labels[k] == id % 10);
      }
    }
  }
  // 180 draws over 25 shifts: all appear, and none beyond 2 pixels.
  CHECK(shifts_seen.size() == 25);
  for (auto [dy, dx] : shifts_seen) CHECK((std::abs(dy) <= 2 && std::abs(dx) <= 2));
}

TEST_CASE("batcher: a tiny image shifted by one pixel, by hand", "[batcher][shift]") {
  Dataset d = make_data(1, 3, 3, 1);
  d.images = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  BatchOptions opt;
  opt.batch_size = 1;
  opt.shift_fraction = 0.34;  // floor(1.02) = 1 pixel
  std::set<std::vector<int>> seen;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    opt.seed = seed;
    Batcher b(d, opt);
    Batch bt = b.next();
    std::vector<int> v;
    for (int i = 0; i < 9; ++i) v.push_back(static_cast<int>(bt.images[i] * 255.0f + 0.5f));
    seen.insert(v);
  }
  CHECK(seen.size() == 9);
  CHECK(seen.count({0, 0, 0, 0, 1, 2, 0, 4, 5}));  // dy = +1, dx = +1: down and right
  CHECK(seen.count({5, 6, 0, 8, 9, 0, 0, 0, 0}));  // dy = -1, dx = -1: up and left
  CHECK(seen.count({1, 2, 3, 4, 5, 6, 7, 8, 9}));  // no shift
  CHECK(seen.count({2, 3, 0, 5, 6, 0, 8, 9, 0}));  // dy = 0, dx = -1
}

TEST_CASE("batcher: no shift leaves images unchanged", "[batcher][shift]") {
  Dataset d = make_data(4, 3, 2, 3);
  BatchOptions opt;
  opt.batch_size = 4;
  opt.seed = 3;
  Batcher b(d, opt);
  Out o = fill_one(b, d, 0, 0);
  std::vector<int64_t> order = b.epoch_order(0);
  for (int k = 0; k < 4; ++k) {
    std::vector<float> got(o.images.begin() + k * 18, o.images.begin() + (k + 1) * 18);
    CHECK(got == shifted(d, order[k], 0, 0));
  }
}

TEST_CASE("batcher: prefetch gives exactly the synchronous batches", "[batcher][prefetch]") {
  Dataset d = make_data(37, 4, 5, 2);
  BatchOptions opt;
  opt.batch_size = 6;
  opt.shift_fraction = 0.25;
  opt.seed = 11;
  Batcher sync(d, opt);
  opt.prefetch = true;
  Batcher pre(d, opt);
  const int64_t steps = 3 * sync.steps_per_epoch() + 2;  // crosses epoch boundaries
  for (int64_t i = 0; i < steps; ++i) {
    Batch a = sync.next();
    Batch b = pre.next();
    CHECK((a.epoch == b.epoch && a.step == b.step));
    REQUIRE(copy_of(a, d) == copy_of(b, d));
    CHECK(copy_of(b, d) == fill_one(sync, d, b.epoch, b.step));
  }
}

TEST_CASE("batcher: seek resumes at (epoch, step) in both modes", "[batcher][prefetch]") {
  Dataset d = make_data(20, 2, 2, 1);
  for (bool prefetch : {false, true}) {
    BatchOptions opt;
    opt.batch_size = 6;  // 4 steps, the last of 2 images
    opt.seed = 5;
    opt.prefetch = prefetch;
    Batcher b(d, opt);
    b.next();
    b.next();
    b.seek(2, 3);
    CHECK((b.epoch() == 2 && b.step() == 3));
    Batch x = b.next();
    CHECK((x.epoch == 2 && x.step == 3 && x.size == 2));
    CHECK(copy_of(x, d) == fill_one(b, d, 2, 3));
    Batch y = b.next();
    CHECK((y.epoch == 3 && y.step == 0));
    CHECK(copy_of(y, d) == fill_one(b, d, 3, 0));
  }
}

TEST_CASE("batcher: a destroyed prefetching batcher stops its thread", "[batcher][prefetch]") {
  Dataset d = make_data(30, 2, 2, 1);
  BatchOptions opt;
  opt.batch_size = 4;
  opt.prefetch = true;
  for (int i = 0; i < 20; ++i) {
    Batcher b(d, opt);
    if (i % 2) b.next();
  }
  SUCCEED();
}

TEST_CASE("batcher bad input: invalid options", "[batcher][bad]") {
  Dataset d = make_data(5, 2, 2, 1);
  BatchOptions opt;
  opt.batch_size = 0;
  CHECK_ERROR(Batcher(d, opt), "batch size 0");
  opt.batch_size = 6;
  opt.drop_last = true;
  CHECK_ERROR(Batcher(d, opt), "no full batch of 6");
  opt.drop_last = false;
  opt.shift_fraction = 1.0;
  CHECK_ERROR(Batcher(d, opt), "shift_fraction 1");
  opt.shift_fraction = 0;
  Batcher b(d, opt);
  CHECK_ERROR(b.seek(0, 1), "cannot seek to epoch 0 step 1");
  Dataset empty;
  CHECK_ERROR(Batcher(empty, opt), "empty");
}
