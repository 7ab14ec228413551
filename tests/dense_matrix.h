// A dense weight matrix (fp32, bf16 or fp16) from fp32 values, shared by the
// kernel tests.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "kernels/cpu/weight_matrix.h"

namespace tc::test_data {

// values: [rows, cols] row-major; each is rounded to `format` (kF32, kBF16
// or kF16).
inline kernels::WeightMatrix dense_matrix(kernels::WeightFormat format, int64_t rows, int64_t cols,
                                          const float* values) {
  kernels::WeightMatrix m;
  m.format = format;
  m.rows = rows;
  m.cols = cols;
  const auto count = static_cast<size_t>(rows * cols);
  m.storage.resize(count * kernels::weight_format_size(format));
  for (size_t i = 0; i < count; ++i) {
    if (format == kernels::WeightFormat::kF32) {
      reinterpret_cast<float*>(m.storage.data())[i] = values[i];
    } else if (format == kernels::WeightFormat::kBF16) {
      reinterpret_cast<uint16_t*>(m.storage.data())[i] = f32_to_bf16(values[i]);
    } else {
      reinterpret_cast<uint16_t*>(m.storage.data())[i] = f32_to_f16(values[i]);
    }
  }
  return m;
}

}  // namespace tc::test_data
