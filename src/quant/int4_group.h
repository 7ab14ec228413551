// int4 with one fp16 scale per group of 128 inputs (WeightFormat::kQ4G128).
//
// Symmetric round-to-nearest: a group's scale is max|w| / 7, rounded to fp16;
// each weight becomes q = clamp(round_half_even(w / scale), -8, 7) using the
// fp16-rounded scale (so dequantization sees exactly the scale quantization
// used). |w / scale| <= 7 before the fp16 rounding of the scale, so q = -8
// appears only when that rounding shrinks the scale. An all-zero group has
// scale 0 and q = 0. GPTQ produces the same format with these same rules.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/cpu/weight_matrix.h"

namespace tc::quant {

// fp16 bits of the scale for a group of `length` weights.
inline uint16_t q4_group_scale(const float* weights, int64_t length) {
  float max_abs = 0.0f;
  for (int64_t i = 0; i < length; ++i) max_abs = std::fmax(max_abs, std::fabs(weights[i]));
  return f32_to_f16(max_abs / 7.0f);
}

// The int4 value in [-8, 7] for weight w under a scale (already fp16-rounded, as fp32).
inline int q4_quantize_value(float w, float scale) {
  if (scale == 0.0f) return 0;
  const float q = std::nearbyint(w / scale);  // round half to even (default rounding mode)
  return static_cast<int>(std::fmin(7.0f, std::fmax(-8.0f, q)));
}

// Round-to-nearest quantization of a dense matrix (any dense format) into kQ4G128.
kernels::WeightMatrix quantize_q4_g128(const kernels::WeightMatrix& dense);

}  // namespace tc::quant
