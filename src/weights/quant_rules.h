// The rounding rules of the quantized formats (docs/WEIGHT_FORMATS.md): how
// a scale is chosen for a row or group and how a weight becomes an integer.
// The formats' reference codecs (format_codecs.cc) and GPTQ (quant/gptq.cc)
// both use them, so GPTQ's output is exactly a kQ4G128 matrix.
//
// All symmetric round-to-nearest: q = clamp(round_half_even(w / scale)),
// with the scale already rounded to its stored precision, so dequantization
// sees exactly the scale quantization used. An all-zero row or group has
// scale 0 and q = 0.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/dtype.h"

namespace tc::weights {

inline float max_abs(const float* weights, int64_t length) {
  float m = 0.0f;
  for (int64_t i = 0; i < length; ++i) m = std::fmax(m, std::fabs(weights[i]));
  return m;
}

// int8: scale = max|w| / 127, so q lies in [-127, 127]. -128 is never used
// so the range is symmetric (negating q never overflows, which the W8A8
// kernel relies on).
inline float q8_scale(const float* weights, int64_t length) {
  return max_abs(weights, length) / 127.0f;
}
inline int q8_quantize_value(float w, float scale) {
  if (scale == 0.0f) return 0;
  const float q = std::nearbyint(w / scale);  // round half to even (default rounding mode)
  return static_cast<int>(std::fmin(127.0f, std::fmax(-127.0f, q)));
}

// int4: scale = max|w| / 7 rounded to fp16 (returned as its bits); q in
// [-8, 7]. |w / scale| <= 7 before the scale is rounded, so q = -8 appears
// only when that rounding shrinks the scale.
inline uint16_t q4_group_scale(const float* weights, int64_t length) {
  return f32_to_f16(max_abs(weights, length) / 7.0f);
}
inline int q4_quantize_value(float w, float scale) {
  if (scale == 0.0f) return 0;
  const float q = std::nearbyint(w / scale);  // round half to even (default rounding mode)
  return static_cast<int>(std::fmin(7.0f, std::fmax(-8.0f, q)));
}

}  // namespace tc::weights
