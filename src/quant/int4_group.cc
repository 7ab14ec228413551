#include "quant/int4_group.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace tc::quant {

using kernels::kQ4GroupSize;
using kernels::WeightFormat;
using kernels::WeightMatrix;

WeightMatrix quantize_q4_g128(const WeightMatrix& dense) {
  if (dense.format != WeightFormat::kF32 && dense.format != WeightFormat::kBF16 &&
      dense.format != WeightFormat::kF16) {
    fail("quantize_q4_g128: expected a dense (f32/bf16/f16) matrix, got {}",
         kernels::weight_format_name(dense.format));
  }
  WeightMatrix out;
  out.format = WeightFormat::kQ4G128;
  out.rows = dense.rows;
  out.cols = dense.cols;
  const int64_t row_bytes = out.row_bytes();
  const int64_t groups = out.groups_per_row();
  // Zero-filled, so an odd row's unused last high nibble stays 0.
  out.storage.resize(static_cast<size_t>(dense.rows * row_bytes));
  out.scales.resize(static_cast<size_t>(dense.rows * groups) * sizeof(uint16_t));
  auto* scales = reinterpret_cast<uint16_t*>(out.scales.data());
  std::vector<float> row(static_cast<size_t>(dense.cols));
  for (int64_t r = 0; r < dense.rows; ++r) {
    dense.row_to_f32(r, row.data());
    uint8_t* packed = out.storage.data() + r * row_bytes;
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t begin = g * kQ4GroupSize;
      const int64_t end = std::min(dense.cols, begin + kQ4GroupSize);
      const uint16_t scale_bits = q4_group_scale(row.data() + begin, end - begin);
      scales[r * groups + g] = scale_bits;
      const float scale = f16_to_f32(scale_bits);
      for (int64_t c = begin; c < end; ++c) {
        const auto nibble =
            static_cast<uint8_t>(q4_quantize_value(row[static_cast<size_t>(c)], scale) + 8);
        packed[c / 2] |= static_cast<uint8_t>((c % 2 == 0) ? nibble : nibble << 4);
      }
    }
  }
  return out;
}

}  // namespace tc::quant
