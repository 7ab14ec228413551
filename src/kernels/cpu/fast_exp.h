// A vectorized e^x for the softmax in the attention kernels.
//
// Cephes-style: x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two constants
// so n·C1 is exact), e^r from a degree-5 minimax polynomial, then scaled by
// 2^n. The scaling is done as two factors 2^(n/2)·2^(n-n/2) so that results
// in the subnormal range (x down to about -103.3) round once, like libm,
// instead of flushing to zero. Accuracy: within 2 ulp of std::exp for
// normal results (checked in tests/attention_test.cc).
// Edge cases: x <= -104 and -inf give 0, x >= 88.73 and +inf give +inf,
// NaN stays NaN.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/isa_region.h"
#include "kernels/cpu/fast_exp_constants.h"

namespace tc::kernels {

// y[i] = e^x[i] for n floats: the AVX2 code below where the CPU has AVX2 and
// FMA, else std::exp. For tests and benchmarks; the kernels inline avx2::exp8.
void exp_f32(const float* x, float* y, int64_t n);

TC_ISA_AVX2_BEGIN
namespace avx2 {

inline __m256 exp8(__m256 x) {
  // Clamp so that n stays in [-150, 128]; max/min with x as the second
  // operand pass a NaN through.
  x = _mm256_max_ps(_mm256_set1_ps(exp_constants::kLowest), x);
  x = _mm256_min_ps(_mm256_set1_ps(exp_constants::kHighest), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(exp_constants::kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(exp_constants::kLn2High), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(exp_constants::kLn2Low), r);
  __m256 p = _mm256_set1_ps(exp_constants::kP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_constants::kP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_constants::kP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_constants::kP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_constants::kP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_constants::kP5));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n = 2^half · 2^(n-half); each factor is a normal float.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 scale1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
  const __m256 scale2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, scale1), scale2);
}

}  // namespace avx2
TC_ISA_END

}  // namespace tc::kernels
