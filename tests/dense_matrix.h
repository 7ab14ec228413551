// A dense weight matrix (fp32, bf16 or fp16) from fp32 values, shared by the
// kernel tests.
#pragma once

#include <cstdint>

#include "weights/weight_matrix.h"

namespace tc::test_data {

// values: [rows, cols] row-major; each is rounded to `format` (kF32, kBF16
// or kF16).
inline weights::WeightMatrix dense_matrix(weights::WeightFormat format, int64_t rows, int64_t cols,
                                          const float* values) {
  return weights::convert_weights(weights::make_f32_matrix(rows, cols, values), format);
}

}  // namespace tc::test_data
