// A weight matrix in one of the stored formats. The forward pass only ever
// sees this type; the kernels are chosen by `format`, so a new format (int8
// per row, int4 group-128, ...) adds a tag and a kernel, not a model change.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/aligned_buffer.h"

namespace tc::kernels {

// Storage formats (see docs/WEIGHT_FORMATS.md for the exact byte layouts):
//  kF32, kBF16, kF16  dense [rows, cols] of that type.
//  kQ8Row             int8 [rows, cols], one fp32 scale per row (scales[rows]);
//                     w = scale[r] * q. Activations stay fp32 (weight-only).
//  kQ8RowDynamic      the same bytes, but the kernel also quantizes each
//                     token's activations to int8 at run time and multiplies
//                     in integers (W8A8).
//  kQ4G128            4-bit: row r is ceil(cols/2) bytes, element c in byte
//                     c/2, low nibble for even c, high for odd; nibble = q + 8
//                     with q in [-8, 7]. One fp16 scale per group of 128
//                     inputs (scales: fp16 [rows, ceil(cols/128)]; the last
//                     group of a row may be shorter); w = scale[r][c/128] * q.
enum class WeightFormat : uint8_t { kF32, kBF16, kF16, kQ8Row, kQ8RowDynamic, kQ4G128 };

inline constexpr int64_t kQ4GroupSize = 128;

std::string_view weight_format_name(WeightFormat format);

// Row-major [rows, cols]: row r holds the weights of output r (the PyTorch
// nn.Linear layout, out_features x in_features).
struct WeightMatrix {
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  // In huge pages: decode streams both once per token (core/aligned_buffer.h).
  AlignedBuffer<uint8_t> storage{Placement::kHugePages};
  AlignedBuffer<uint8_t> scales{Placement::kHugePages};  // quantized formats only (layout above)

  const float* f32() const { return reinterpret_cast<const float*>(storage.data()); }
  const uint16_t* u16() const { return reinterpret_cast<const uint16_t*>(storage.data()); }
  const int8_t* i8() const { return reinterpret_cast<const int8_t*>(storage.data()); }
  const float* row_scales() const { return reinterpret_cast<const float*>(scales.data()); }
  const uint16_t* group_scales() const { return reinterpret_cast<const uint16_t*>(scales.data()); }
  // Bytes of one stored row (kQ4G128: two elements per byte).
  int64_t row_bytes() const;
  int64_t groups_per_row() const { return (cols + kQ4GroupSize - 1) / kQ4GroupSize; }
  // Bytes held: values and scales.
  size_t bytes() const { return storage.size() + scales.size(); }

  // Writes row `r` as fp32 into out[0..cols).
  void row_to_f32(int64_t r, float* out) const;
};

// Element size of a dense format (1 for the int8 formats; kQ4G128 has none).
size_t weight_format_size(WeightFormat format);

// An fp32 matrix with the same shape (the data copied).
WeightMatrix make_f32_matrix(int64_t rows, int64_t cols, const float* values);

}  // namespace tc::kernels
