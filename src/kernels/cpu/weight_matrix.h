// A weight matrix in one of the stored formats. The forward pass only ever
// sees this type; the kernels are chosen by `format`, so a new format (int8
// per row, int4 group-128, ...) adds a tag and a kernel, not a model change.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/aligned_buffer.h"

namespace tc::kernels {

enum class WeightFormat : uint8_t { kF32, kBF16, kF16 };

std::string_view weight_format_name(WeightFormat format);

// Row-major [rows, cols]: row r holds the weights of output r (the PyTorch
// nn.Linear layout, out_features x in_features).
struct WeightMatrix {
  WeightFormat format = WeightFormat::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  AlignedBuffer<uint8_t> storage;

  const float* f32() const { return reinterpret_cast<const float*>(storage.data()); }
  const uint16_t* u16() const { return reinterpret_cast<const uint16_t*>(storage.data()); }
  size_t bytes() const { return storage.size(); }

  // Writes row `r` as fp32 into out[0..cols).
  void row_to_f32(int64_t r, float* out) const;
};

// Element size of a dense format.
size_t weight_format_size(WeightFormat format);

}  // namespace tc::kernels
