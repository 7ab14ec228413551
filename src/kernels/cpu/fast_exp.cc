#include "kernels/cpu/fast_exp.h"

#include <cmath>

#include "core/cpu_features.h"
#include "core/isa_region.h"

namespace tc::kernels {

TC_ISA_AVX2_BEGIN
namespace avx2 {
namespace {

void exp_f32(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
  if (i < n) {
    // The tail goes through the same vector code, via a padded copy.
    float in[8] = {}, result[8];
    for (int64_t j = i; j < n; ++j) in[j - i] = x[j];
    _mm256_storeu_ps(result, exp8(_mm256_loadu_ps(in)));
    for (int64_t j = i; j < n; ++j) y[j] = result[j - i];
  }
}

}  // namespace
}  // namespace avx2
TC_ISA_END

void exp_f32(const float* x, float* y, int64_t n) {
  if (cpu_has_avx2()) return avx2::exp_f32(x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

}  // namespace tc::kernels
