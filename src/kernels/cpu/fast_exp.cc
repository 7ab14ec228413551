#include "kernels/cpu/fast_exp.h"

#include <cmath>

#include "core/cpu_features.h"

namespace tc::kernels {

namespace {

__attribute__((target("avx2,fma"))) void exp_f32_avx2(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_avx2(_mm256_loadu_ps(x + i)));
  if (i < n) {
    // The tail goes through the same vector code, via a padded copy.
    float in[8] = {}, result[8];
    for (int64_t j = i; j < n; ++j) in[j - i] = x[j];
    _mm256_storeu_ps(result, exp_avx2(_mm256_loadu_ps(in)));
    for (int64_t j = i; j < n; ++j) y[j] = result[j - i];
  }
}

}  // namespace

void exp_f32(const float* x, float* y, int64_t n) {
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma) return exp_f32_avx2(x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

}  // namespace tc::kernels
