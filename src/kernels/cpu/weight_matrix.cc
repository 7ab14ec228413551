#include "kernels/cpu/weight_matrix.h"

#include <cstring>

#include "core/dtype.h"

namespace tc::kernels {

std::string_view weight_format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32:
      return "f32";
    case WeightFormat::kBF16:
      return "bf16";
    case WeightFormat::kF16:
      return "f16";
    case WeightFormat::kQ8Row:
      return "q8_row";
    case WeightFormat::kQ8RowDynamic:
      return "q8_row_dynamic";
    case WeightFormat::kQ4G128:
      return "q4_g128";
  }
  return "?";
}

size_t weight_format_size(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32:
      return 4;
    case WeightFormat::kBF16:
    case WeightFormat::kF16:
      return 2;
    case WeightFormat::kQ8Row:
    case WeightFormat::kQ8RowDynamic:
      return 1;
    case WeightFormat::kQ4G128:
      return 0;
  }
  return 0;
}

int64_t WeightMatrix::row_bytes() const {
  if (format == WeightFormat::kQ4G128) return (cols + 1) / 2;
  return cols * static_cast<int64_t>(weight_format_size(format));
}

WeightMatrix make_f32_matrix(int64_t rows, int64_t cols, const float* values) {
  WeightMatrix m;
  m.format = WeightFormat::kF32;
  m.rows = rows;
  m.cols = cols;
  m.storage.resize(static_cast<size_t>(rows * cols) * sizeof(float));
  std::memcpy(m.storage.data(), values, m.storage.size());
  return m;
}

void WeightMatrix::row_to_f32(int64_t r, float* out) const {
  const size_t offset = static_cast<size_t>(r) * static_cast<size_t>(cols);
  switch (format) {
    case WeightFormat::kF32:
      std::memcpy(out, f32() + offset, static_cast<size_t>(cols) * sizeof(float));
      return;
    case WeightFormat::kBF16:
      for (int64_t c = 0; c < cols; ++c) out[c] = bf16_to_f32(u16()[offset + c]);
      return;
    case WeightFormat::kF16:
      for (int64_t c = 0; c < cols; ++c) out[c] = f16_to_f32(u16()[offset + c]);
      return;
    case WeightFormat::kQ8Row:
    case WeightFormat::kQ8RowDynamic: {
      const float scale = row_scales()[r];
      for (int64_t c = 0; c < cols; ++c) out[c] = scale * static_cast<float>(i8()[offset + c]);
      return;
    }
    case WeightFormat::kQ4G128: {
      const uint8_t* row = storage.data() + r * row_bytes();
      const uint16_t* row_scale = group_scales() + r * groups_per_row();
      for (int64_t c = 0; c < cols; ++c) {
        const int nibble = (c % 2 == 0) ? (row[c / 2] & 0x0f) : (row[c / 2] >> 4);
        out[c] = f16_to_f32(row_scale[c / kQ4GroupSize]) * static_cast<float>(nibble - 8);
      }
      return;
    }
  }
}

}  // namespace tc::kernels
