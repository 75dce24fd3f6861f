// CPU Adam update; see adam.h.
#include "engine/cpu/adam.h"

#include <cmath>

namespace mlcn::cpu {

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, int64_t n, double lr_t, double b1, double b2, double eps, double keep) {
  const T tb1 = T(b1), tb2 = T(b2), tlr = T(lr_t), teps = T(eps), tkeep = T(keep);
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    m[i] = tb1 * m[i] + (T(1) - tb1) * g[i];
    v[i] = tb2 * v[i] + (T(1) - tb2) * g[i] * g[i];
    p[i] = tkeep * p[i] - tlr * m[i] / (std::sqrt(v[i]) + teps);
  }
}

template void adam_update<float>(float*, const float*, float*, float*, int64_t, double, double, double, double,
                                 double);
template void adam_update<double>(double*, const double*, double*, double*, int64_t, double, double, double,
                                  double, double);

}  // namespace mlcn::cpu
