// Helpers of the CUDA parity tests: seeded random inputs (never all zeros), device arrays with
// guard regions, the one comparison rule, and kS0, the stream the kernel tests queue on (the
// setup stream of GPU 0; Guarded::host() waits for the whole device).
//
// Guard regions: every device array is allocated with kGuard extra floats before and after it,
// filled with a NaN whose payload marks it (kSentinelBits); after the kernel ran, the guards must
// be bit-for-bit unchanged. Output arrays a kernel must assign completely start as poison
// (another NaN payload) so an element it forgot shows up as NaN in the comparison.
//
// Comparison (expect_close): |actual - expected| <= atol + rtol * |expected| for every element,
// NaN/Inf checked first; a failure names the worst element, both values, and the max abs error.
#pragma once
#include <cuda_runtime.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "base/rng.h"
#include "base/stream.h"
#include "engine/core/backend.h"

namespace mlcn::test {

inline const Stream kS0 = Stream::setup(0);

inline constexpr size_t kGuard = 67;                 // floats on each side (odd on purpose)
inline constexpr uint32_t kSentinelBits = 0x7fc0beefu;  // quiet NaN, guard marker
inline constexpr uint32_t kPoisonBits = 0x7fc0dead;     // quiet NaN, "never written"

inline float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline uint32_t float_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Uniform in [lo, hi); an all-zero draw is impossible for n >= 1 and lo < hi.
inline std::vector<float> rand_vec(size_t n, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(r.uniform(lo, hi));
  return v;
}

inline void cuda_ok(cudaError_t e, const char* what) {
  INFO(what << ": " << cudaGetErrorString(e));
  REQUIRE(e == cudaSuccess);
}

// A float array on the current device surrounded by guard regions.
class Guarded {
 public:
  // Interior = init. The front guard has kGuard floats (an odd count, so the interior is only
  // 4-byte aligned), or kGuard + 1 with aligned16 (the interior 16-byte aligned, for the float4
  // paths of kernels that check alignment).
  explicit Guarded(const std::vector<float>& init, bool aligned16 = false)
      : n_(init.size()), lead_(aligned16 ? kGuard + 1 : kGuard) {
    alloc();
    cuda_ok(cudaMemcpy(get(), init.data(), n_ * 4, cudaMemcpyHostToDevice), "copy in");
  }
  // Interior = poison (for outputs that must be fully written).
  explicit Guarded(size_t n) : n_(n) {
    alloc();
    std::vector<float> poison(n_, bits_to_float(kPoisonBits));
    cuda_ok(cudaMemcpy(get(), poison.data(), n_ * 4, cudaMemcpyHostToDevice), "poison");
  }
  ~Guarded() { (void)cudaFree(base_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;

  float* get() const { return base_ + lead_; }
  size_t size() const { return n_; }
  // Waits for the device, then returns the interior.
  std::vector<float> host() const {
    cuda_ok(cudaDeviceSynchronize(), "kernel");
    std::vector<float> h(n_);
    cuda_ok(cudaMemcpy(h.data(), get(), n_ * 4, cudaMemcpyDeviceToHost), "copy out");
    return h;
  }
  void expect_guards_intact(const std::string& what) const {
    cuda_ok(cudaDeviceSynchronize(), "kernel");
    std::vector<float> all(lead_ + n_ + kGuard);
    cuda_ok(cudaMemcpy(all.data(), base_, all.size() * 4, cudaMemcpyDeviceToHost), "copy guards");
    size_t bad = 0, first = 0;
    for (size_t k = 0; k < all.size(); ++k)
      if ((k < lead_ || k >= lead_ + n_) && float_bits(all[k]) != kSentinelBits && bad++ == 0) first = k;
    INFO(what << ": " << bad << " guard floats overwritten, first at raw offset " << first << " (interior starts at "
              << lead_ << ", length " << n_ << ")");
    CHECK(bad == 0);
  }

 private:
  void alloc() {
    cuda_ok(cudaMalloc(&base_, (lead_ + n_ + kGuard) * 4), "cudaMalloc");  // 256-byte aligned
    std::vector<float> guard(lead_, bits_to_float(kSentinelBits));
    cuda_ok(cudaMemcpy(base_, guard.data(), lead_ * 4, cudaMemcpyHostToDevice), "guard");
    cuda_ok(cudaMemcpy(base_ + lead_ + n_, guard.data(), kGuard * 4, cudaMemcpyHostToDevice), "guard");
  }
  float* base_ = nullptr;
  size_t n_ = 0;
  size_t lead_ = kGuard;
};

// A host array copied to the current device (labels, selections, scales), freed at scope end.
template <class T> class DeviceArray {
 public:
  explicit DeviceArray(const std::vector<T>& host) {
    cuda_ok(cudaMalloc(&p_, std::max<size_t>(host.size(), 1) * sizeof(T)), "cudaMalloc");
    if (!host.empty()) cuda_ok(cudaMemcpy(p_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "copy in");
  }
  ~DeviceArray() { (void)cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
};

// The loss entries work on device memory only (labels, the value, the upstream gradient g);
// these run them on host labels and g and return the value to the host.
inline float margin_forward_from_host(const float* d_y, const std::vector<int32_t>& labels, int64_t B, int64_t J) {
  DeviceArray<int32_t> d_labels(labels);
  Guarded loss(1);
  cuda().margin_forward(kS0, loss.get(), d_y, d_labels.get(), B, J);
  return loss.host()[0];
}
inline void margin_backward_from_host(float* d_dy, float g, const float* d_y, const std::vector<int32_t>& labels,
                                      int64_t B, int64_t J) {
  DeviceArray<int32_t> d_labels(labels);
  DeviceArray<float> d_g({g});
  cuda().margin_backward(kS0, d_dy, d_g.get(), d_y, d_labels.get(), B, J);
  cuda().synchronize(kS0);
}
inline float mse_forward_from_host(const float* d_a, const float* d_t, int64_t n) {
  Guarded loss(1);
  cuda().mse_forward(kS0, loss.get(), d_a, d_t, n);
  return loss.host()[0];
}
inline void mse_backward_from_host(float* d_da, float g, const float* d_a, const float* d_t, int64_t n) {
  DeviceArray<float> d_g({g});
  cuda().mse_backward(kS0, d_da, d_g.get(), d_a, d_t, n);
  cuda().synchronize(kS0);
}

// The comparison rule of the file header. Returns true when every element passes.
inline bool expect_close(const std::vector<float>& actual, const std::vector<float>& expected, double rtol,
                         double atol, const std::string& what) {
  REQUIRE(actual.size() == expected.size());
  size_t worst = 0, nonfinite = 0, fails = 0;
  double worst_excess = -1, max_abs = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    if (!std::isfinite(a) || !std::isfinite(e)) {
      if (nonfinite++ == 0) worst = i;
      worst_excess = 1e300;
      continue;
    }
    const double err = std::fabs(a - e), allowed = atol + rtol * std::fabs(e);
    max_abs = std::max(max_abs, err);
    if (err > allowed) ++fails;
    if (err - allowed > worst_excess) worst_excess = err - allowed, worst = i;
  }
  const bool ok = fails == 0 && nonfinite == 0;
  std::ostringstream os;
  os << what << ": " << fails << " of " << actual.size() << " elements outside atol " << atol << " + rtol " << rtol
     << ", " << nonfinite << " non-finite; max abs error " << max_abs;
  if (!actual.empty())
    os << "; worst at " << worst << ": got " << actual[worst] << ", expected " << expected[worst];
  INFO(os.str());
  CHECK(ok);
  return ok;
}

// ||a - e||_2 / ||e||_2: the whole-tensor error used for the model-step gradients.
inline double rel_l2(const std::vector<float>& a, const std::vector<float>& e) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - e[i]) * (double(a[i]) - e[i]);
    den += double(e[i]) * e[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

inline float max_abs(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

}  // namespace mlcn::test
