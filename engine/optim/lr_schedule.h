// The learning rate of every training step: a pure function of the global step (epoch *
// steps_per_epoch + step), so a run resumed at any step continues with the same rates.
//   exponential  lr * decay^e                        (e: 0-based epoch; the paper's schedule)
//   step         lr * decay^floor(e / step_epochs)
//   cosine       lr_min + (lr - lr_min) (1 + cos(pi t / T)) / 2, t = steps after the warm-up,
//                T = the run's steps after the warm-up
//   constant     lr
// A warm-up of W = round(warmup_epochs * steps_per_epoch) steps multiplies the rate of step k
// (0-based, k < W) by (k + 1) / W.
#pragma once
#include <cstdint>
#include <string>

namespace mlcn {

struct LrSchedule {
  std::string kind = "exponential";  // exponential | step | cosine | constant
  double lr = 1e-3;
  double decay = 1;          // exponential, step
  int step_epochs = 1;       // step: epochs between decays (>= 1)
  double lr_min = 0;         // cosine: the rate at the end of the run
  double warmup_epochs = 0;  // >= 0, fractions allowed
  int64_t steps_per_epoch = 1;
  int64_t epochs = 1;

  // The rate of global step `k` (>= 0).
  double at(int64_t k) const;
  int64_t warmup_steps() const;
};

// Throws naming `key` unless `kind` is one of the schedules above.
void check_lr_schedule_kind(const std::string& kind, const std::string& key);

}  // namespace mlcn
