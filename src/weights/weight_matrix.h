// A weight matrix in one of the stored formats (weight_format.h). The
// forward pass only ever sees this type; a backend chooses its kernel by
// `format`, so a new format adds a table row and kernels, not a model change.
#pragma once

#include <cstdint>

#include "core/aligned_buffer.h"
#include "weights/weight_format.h"

namespace tc::weights {

// Row-major [rows, cols]: row r holds the weights of output r (the PyTorch
// nn.Linear layout, out_features x in_features).
class WeightMatrix {
 public:
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  // In huge pages: decode streams both once per token (core/aligned_buffer.h).
  AlignedBuffer<uint8_t> storage{Placement::kHugePages};
  AlignedBuffer<uint8_t> scales{Placement::kHugePages};  // quantized formats only

  const float* f32() const { return reinterpret_cast<const float*>(storage.data()); }
  const uint16_t* u16() const { return reinterpret_cast<const uint16_t*>(storage.data()); }
  const int8_t* i8() const { return reinterpret_cast<const int8_t*>(storage.data()); }
  const float* row_scales() const { return reinterpret_cast<const float*>(scales.data()); }
  const uint16_t* group_scales() const { return reinterpret_cast<const uint16_t*>(scales.data()); }
  // Bytes of one stored row (kQ4G128: two elements per byte).
  int64_t row_bytes() const { return weight_row_bytes(format, cols); }
  // Scales of one row: 1 for per-row formats, ceil(cols / group) for grouped ones.
  int64_t scales_per_row() const { return weight_scales_per_row(format, cols); }
  // Bytes held: values and scales.
  size_t bytes() const { return storage.size() + scales.size(); }

  // Writes row `r` as fp32 into out[0..cols) (the format's reference dequantization).
  void row_to_f32(int64_t r, float* out) const;
};

// An empty matrix of this format and shape: storage and scales sized and zeroed.
WeightMatrix make_weight_matrix(WeightFormat format, int64_t rows, int64_t cols);
// An fp32 matrix with the same shape (the data copied).
WeightMatrix make_f32_matrix(int64_t rows, int64_t cols, const float* values);
// Round-to-nearest quantization (or conversion) of any matrix into `format`,
// row by row through the formats' reference codecs.
WeightMatrix convert_weights(const WeightMatrix& source, WeightFormat format);

}  // namespace tc::weights
