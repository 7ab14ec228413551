// int8 with one fp32 scale per row (WeightFormat::kQ8Row / kQ8RowDynamic).
//
// Symmetric round-to-nearest: a row's scale is max|w| / 127 in fp32; each
// weight becomes q = clamp(round_half_even(w / scale), -127, 127). -128 is
// never used so the range is symmetric (negating q never overflows, which the
// W8A8 kernel relies on). An all-zero row has scale 0 and q = 0.
#pragma once

#include <cmath>

#include "kernels/cpu/weight_matrix.h"

namespace tc::quant {

// fp32 scale for a row of `length` weights.
inline float q8_row_scale(const float* weights, int64_t length) {
  float max_abs = 0.0f;
  for (int64_t i = 0; i < length; ++i) max_abs = std::fmax(max_abs, std::fabs(weights[i]));
  return max_abs / 127.0f;
}

// The int8 value in [-127, 127] for weight w under `scale`.
inline int q8_quantize_value(float w, float scale) {
  if (scale == 0.0f) return 0;
  const float q = std::nearbyint(w / scale);  // round half to even (default rounding mode)
  return static_cast<int>(std::fmin(127.0f, std::fmax(-127.0f, q)));
}

// Quantizes a dense matrix (any dense format) into kQ8Row, or into
// kQ8RowDynamic when `dynamic` (identical bytes; only the kernel differs).
kernels::WeightMatrix quantize_q8_row(const kernels::WeightMatrix& dense, bool dynamic);

}  // namespace tc::quant
