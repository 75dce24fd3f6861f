// Batcher: seeded shuffles, shifts, scaling and double-buffered prefetch (see batcher.h).
#include "data/batcher.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/rng.h"

namespace mlcn {
namespace {

// Stream tags, so the shuffle and the shifts of the same (seed, epoch) are independent.
constexpr uint64_t kShuffleTag = 0x73687566666c65ULL;  // "shuffle"
constexpr uint64_t kShiftTag = 0x7368696674ULL;        // "shift"
constexpr uint64_t kFlipTag = 0x666c6970ULL;           // "flip"

// Mirrors an image (H, W, C) left-right in place: out(y, x) = in(y, W - 1 - x).
void mirror_columns(float* img, int H, int W, int C) {
  for (int y = 0; y < H; ++y) {
    float* r = img + static_cast<int64_t>(y) * W * C;
    for (int a = 0, z = W - 1; a < z; ++a, --z)
      for (int c = 0; c < C; ++c) std::swap(r[a * C + c], r[z * C + c]);
  }
}

}  // namespace

Batcher::Batcher(const Dataset& data, const BatchOptions& opt) : data_(data), opt_(opt) {
  if (data.n <= 0) MLCN_FAIL("batcher: the dataset is empty");
  if (data.images.size() != static_cast<size_t>(data.n * data.image_bytes()) ||
      data.labels.size() != static_cast<size_t>(data.n)) {
    MLCN_FAIL("batcher: dataset of " << data.n << " images of " << data.H << "x" << data.W << "x"
                                     << data.C << " holds " << data.images.size()
                                     << " pixel bytes and " << data.labels.size() << " labels");
  }
  if (opt.batch_size <= 0) MLCN_FAIL("batcher: batch size " << opt.batch_size << " must be > 0");
  if (!(opt.shift_fraction >= 0 && opt.shift_fraction < 1)) {
    MLCN_FAIL("batcher: shift_fraction " << opt.shift_fraction << " must lie in [0, 1)");
  }
  if (opt.drop_last) {
    steps_per_epoch_ = data.n / opt.batch_size;
    if (steps_per_epoch_ == 0) {
      MLCN_FAIL("batcher: " << data.n << " images make no full batch of " << opt.batch_size
                            << " (drop_last is on)");
    }
  } else {
    steps_per_epoch_ = (data.n + opt.batch_size - 1) / opt.batch_size;
  }
  if (opt.crop_padding < 0 || opt.crop_padding >= std::min(data.H, data.W)) {
    MLCN_FAIL("batcher: crop_padding " << opt.crop_padding << " must lie in [0, " << std::min(data.H, data.W) << ")");
  }
  if (opt.crop_padding > 0 && opt.shift_fraction > 0) {
    MLCN_FAIL("batcher: crop_padding and shift_fraction are two forms of one shift; set one of them");
  }
  shift_y_ = opt.crop_padding > 0 ? opt.crop_padding : static_cast<int>(std::floor(opt.shift_fraction * data.H));
  shift_x_ = opt.crop_padding > 0 ? opt.crop_padding : static_cast<int>(std::floor(opt.shift_fraction * data.W));
  for (int v = 0; v < 256; ++v) scale_[v] = static_cast<float>(v) / 255.0f;
  for (Slot& s : slots_) {
    s.images.resize(static_cast<size_t>(opt.batch_size * data.image_bytes()));
    s.labels.resize(static_cast<size_t>(opt.batch_size));
  }
  if (opt_.prefetch) start_worker();
}

Batcher::~Batcher() { stop_worker(); }

int64_t Batcher::batch_size(int64_t step) const {
  if (step < 0 || step >= steps_per_epoch_) {
    MLCN_FAIL("batcher: step " << step << " is outside an epoch of " << steps_per_epoch_
                               << " steps");
  }
  return std::min(opt_.batch_size, data_.n - step * opt_.batch_size);
}

std::vector<int64_t> Batcher::epoch_order(int64_t epoch) const {
  if (epoch < 0) MLCN_FAIL("batcher: epoch " << epoch << " must be >= 0");
  std::vector<int64_t> order(static_cast<size_t>(data_.n));
  for (int64_t i = 0; i < data_.n; ++i) order[i] = i;
  if (!opt_.shuffle) return order;
  Rng rng = Rng(opt_.seed).fork(kShuffleTag).fork(static_cast<uint64_t>(epoch));
  for (int64_t i = data_.n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)));
    std::swap(order[i], order[j]);
  }
  return order;
}

int64_t Batcher::fill(int64_t epoch, int64_t step, float* images, int32_t* labels) const {
  const int64_t b = batch_size(step);
  std::vector<int64_t> idx(static_cast<size_t>(b));
  {
    std::lock_guard<std::mutex> lock(order_mu_);
    if (cached_epoch_ != epoch) {
      cached_order_ = epoch_order(epoch);
      cached_epoch_ = epoch;
    }
    std::copy_n(cached_order_.begin() + step * opt_.batch_size, b, idx.begin());
  }
  const int H = data_.H, W = data_.W, C = data_.C;
  const int64_t row = static_cast<int64_t>(W) * C;
  Rng rng = Rng(opt_.seed)
                .fork(kShiftTag)
                .fork(static_cast<uint64_t>(epoch))
                .fork(static_cast<uint64_t>(step));
  Rng flip_rng = Rng(opt_.seed).fork(kFlipTag).fork(static_cast<uint64_t>(epoch)).fork(static_cast<uint64_t>(step));
  for (int64_t k = 0; k < b; ++k) {
    const uint8_t* src = data_.images.data() + idx[k] * data_.image_bytes();
    float* dst = images + k * data_.image_bytes();
    labels[k] = data_.labels[idx[k]];
    int dy = 0, dx = 0;
    if (shift_y_ > 0) dy = static_cast<int>(rng.below(2 * shift_y_ + 1)) - shift_y_;
    if (shift_x_ > 0) dx = static_cast<int>(rng.below(2 * shift_x_ + 1)) - shift_x_;
    // Output columns [x0, x1) read input columns [x0 - dx, x1 - dx); the rest is zero.
    const int x0 = std::max(0, dx), x1 = std::min(W, W + dx);
    for (int y = 0; y < H; ++y) {
      float* out = dst + y * row;
      const int sy = y - dy;
      if (sy < 0 || sy >= H || x1 <= x0) {
        std::fill(out, out + row, 0.0f);
        continue;
      }
      std::fill(out, out + x0 * C, 0.0f);
      const uint8_t* in = src + sy * row + static_cast<int64_t>(x0 - dx) * C;
      const int64_t count = static_cast<int64_t>(x1 - x0) * C;
      for (int64_t i = 0; i < count; ++i) out[x0 * C + i] = scale_[in[i]];
      std::fill(out + x1 * C, out + row, 0.0f);
    }
    if (opt_.flip && flip_rng.below(2) == 1) mirror_columns(dst, H, W, C);
  }
  return b;
}

void Batcher::advance(int64_t& epoch, int64_t& step) const {
  if (++step == steps_per_epoch_) {
    step = 0;
    ++epoch;
  }
}

void Batcher::fill_slot(Slot& slot, int64_t epoch, int64_t step) const {
  slot.batch.size = fill(epoch, step, slot.images.data(), slot.labels.data());
  slot.batch.images = slot.images.data();
  slot.batch.labels = slot.labels.data();
  slot.batch.epoch = epoch;
  slot.batch.step = step;
}

void Batcher::seek(int64_t epoch, int64_t step) {
  if (epoch < 0 || step < 0 || step >= steps_per_epoch_) {
    MLCN_FAIL("batcher: cannot seek to epoch " << epoch << " step " << step << " (an epoch has "
                                               << steps_per_epoch_ << " steps)");
  }
  stop_worker();
  pos_epoch_ = epoch;
  pos_step_ = step;
  if (opt_.prefetch) start_worker();
}

Batch Batcher::next() {
  if (!opt_.prefetch) {
    fill_slot(slots_[0], pos_epoch_, pos_step_);
    advance(pos_epoch_, pos_step_);
    return slots_[0].batch;
  }
  std::unique_lock<std::mutex> lock(mu_);
  held_ = -1;  // the caller is done with the previous batch
  cv_.notify_all();
  Slot& slot = slots_[consumed_ % 2];
  cv_.wait(lock, [&] { return slot.ready || error_; });
  if (!slot.ready) std::rethrow_exception(error_);
  slot.ready = false;
  held_ = static_cast<int>(consumed_ % 2);
  ++consumed_;
  advance(pos_epoch_, pos_step_);
  return slot.batch;
}

void Batcher::start_worker() {
  stop_ = false;
  held_ = -1;
  consumed_ = 0;
  error_ = nullptr;
  for (Slot& s : slots_) s.ready = false;
  worker_ = std::thread(&Batcher::worker_loop, this, pos_epoch_, pos_step_);
}

void Batcher::stop_worker() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void Batcher::worker_loop(int64_t epoch, int64_t step) {
  for (int64_t k = 0;; ++k) {
    const int i = static_cast<int>(k % 2);
    Slot& slot = slots_[i];
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || (!slot.ready && held_ != i); });
      if (stop_) return;
    }
    // The slot is neither ready nor held, so the caller does not touch it while we fill.
    try {
      fill_slot(slot, epoch, step);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      error_ = std::current_exception();
      cv_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      slot.ready = true;
    }
    cv_.notify_all();
    advance(epoch, step);
  }
}

}  // namespace mlcn
