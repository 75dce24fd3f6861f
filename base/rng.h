// Seeded random numbers: a splitmix64 stream whose whole state is one 64-bit word, so it
// is trivially saved in checkpoints and reproduced from a seed. Not for cryptography.
#pragma once
#include <cmath>
#include <cstdint>

namespace mlcn {

inline uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t next_u64() {
    uint64_t r = splitmix64(state_);
    state_ += 0x9E3779B97F4A7C15ULL;
    return r;
  }
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return n ? next_u64() % n : 0; }
  double normal() {  // Box-Muller; one draw per call keeps the state a single word
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  uint64_t state() const { return state_; }
  void set_state(uint64_t s) { state_ = s; }
  // An independent stream for a sub-task (lane i, epoch e, ...).
  Rng fork(uint64_t tag) const { return Rng(splitmix64(state_ ^ splitmix64(tag))); }

 private:
  uint64_t state_;
};

}  // namespace mlcn
