// Batcher: turns a Dataset into training or evaluation batches of float32 pixels in [0, 1].
//
// Every batch is a pure function of (seed, epoch, step):
//   - the order of epoch e is a Fisher-Yates shuffle of 0..n-1 driven by a stream derived
//     from (seed, e), so an epoch is reproducible and a run resumes from (epoch, step);
//     with shuffle off the order is the file order (evaluation, `mlcn step`);
//   - the random shift of each image in batch (e, s) comes from a stream derived from
//     (seed, e, s): dy, dx uniform integers in [-floor(f*H), floor(f*H)] and
//     [-floor(f*W), floor(f*W)] for f = shift_fraction; out(y, x) = in(y - dy, x - dx),
//     zero where that falls outside the image; crop_padding P instead draws dy, dx in [-P, P]
//     (a random crop of the image zero-padded by P on every side: the same transform);
//   - with flip on, each image of batch (e, s) is mirrored left-right with probability 1/2,
//     drawn from its own stream derived from (seed, e, s) (after the shift), so turning flips
//     on leaves the shuffles and the shifts as they were;
//   - batch s holds order[s*B .. s*B+B-1]; the last batch of an epoch is partial unless
//     drop_last, which drops it.
// With prefetch on, a background thread prepares batch k+1 while the caller works on
// batch k (two buffers); the batches are identical to the synchronous ones.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"

namespace mlcn {

struct BatchOptions {
  int64_t batch_size = 100;
  bool shuffle = true;        // false: file order
  bool drop_last = false;     // false: the last batch of an epoch may be partial
  double shift_fraction = 0;  // 0 = no shifts; must lie in [0, 1)
  int crop_padding = 0;       // > 0: shifts of up to this many pixels (replaces shift_fraction)
  bool flip = false;          // mirror left-right with probability 1/2
  uint64_t seed = 0;
  bool prefetch = false;  // prepare the next batch on a background thread
};

// A batch handed out by Batcher::next(); the pointers stay valid until the next call to
// next() or seek(), or until the Batcher dies.
struct Batch {
  const float* images = nullptr;    // (size, H, W, C)
  const int32_t* labels = nullptr;  // (size)
  int64_t size = 0;
  int64_t epoch = 0, step = 0;
};

class Batcher {
 public:
  // Keeps a reference to `data`, which must outlive the Batcher.
  Batcher(const Dataset& data, const BatchOptions& opt);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t batch_size(int64_t step) const;  // images in batch `step` of an epoch
  const BatchOptions& options() const { return opt_; }

  // The image indices (n) of epoch `epoch` in the order they are served.
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  // Writes batch (epoch, step) into caller buffers and returns its size b; only the first
  // b images and labels are written. Thread-safe; independent of next()/seek().
  int64_t fill(int64_t epoch, int64_t step, float* images /*(B, H, W, C)*/,
               int32_t* labels /*(B)*/) const;

  // Positions the stream so that next() returns batch (epoch, step).
  void seek(int64_t epoch, int64_t step);
  // The batch at the current position; then moves to the next step, or to step 0 of the
  // next epoch after the last one.
  Batch next();
  int64_t epoch() const { return pos_epoch_; }  // position of the batch next() returns
  int64_t step() const { return pos_step_; }

 private:
  struct Slot {
    std::vector<float> images;
    std::vector<int32_t> labels;
    Batch batch;
    bool ready = false;
  };
  void fill_slot(Slot& slot, int64_t epoch, int64_t step) const;
  void start_worker();
  void stop_worker();
  void worker_loop(int64_t epoch, int64_t step);
  void advance(int64_t& epoch, int64_t& step) const;

  const Dataset& data_;
  BatchOptions opt_;
  int64_t steps_per_epoch_ = 0;
  int shift_y_ = 0, shift_x_ = 0;  // largest shift in rows and columns
  float scale_[256];               // pixel value -> value / 255

  mutable std::mutex order_mu_;  // guards the cached order of one epoch
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> cached_order_;

  int64_t pos_epoch_ = 0, pos_step_ = 0;
  Slot slots_[2];
  // Prefetch state: batch k after a seek goes to slot k % 2.
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread worker_;
  bool stop_ = false;
  int held_ = -1;         // slot the caller is reading, -1 when none
  int64_t consumed_ = 0;  // batches handed out since the last seek
  std::exception_ptr error_;
};

}  // namespace mlcn
