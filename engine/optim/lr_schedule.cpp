// Learning-rate schedules (see lr_schedule.h).
#include "engine/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace mlcn {

void check_lr_schedule_kind(const std::string& kind, const std::string& key) {
  MLCN_CHECK(kind == "exponential" || kind == "step" || kind == "cosine" || kind == "constant",
             key << " must be exponential, step, cosine or constant, got '" << kind << "'");
}

int64_t LrSchedule::warmup_steps() const {
  return static_cast<int64_t>(std::llround(warmup_epochs * double(steps_per_epoch)));
}

double LrSchedule::at(int64_t k) const {
  MLCN_CHECK(k >= 0 && steps_per_epoch > 0, "learning-rate schedule: step " << k << " of epochs of " << steps_per_epoch);
  const int64_t epoch = k / steps_per_epoch;
  double rate = lr;
  if (kind == "exponential") {
    rate = lr * std::pow(decay, double(epoch));
  } else if (kind == "step") {
    rate = lr * std::pow(decay, double(epoch / std::max(1, step_epochs)));
  } else if (kind == "cosine") {
    const int64_t w = warmup_steps(), total = std::max<int64_t>(1, epochs * steps_per_epoch - w);
    const double t = double(std::min(std::max<int64_t>(0, k - w), total)) / double(total);
    rate = lr_min + (lr - lr_min) * 0.5 * (1 + std::cos(M_PI * t));
  } else {
    check_lr_schedule_kind(kind, "train.lr_schedule");
  }
  const int64_t w = warmup_steps();
  if (k < w) rate *= double(k + 1) / double(w);
  return rate;
}

}  // namespace mlcn
