#include "kernels/cpu/weight_matrix.h"

#include <cstring>

#include "core/dtype.h"

namespace tc::kernels {

std::string_view weight_format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32: return "f32";
    case WeightFormat::kBF16: return "bf16";
    case WeightFormat::kF16: return "f16";
  }
  return "?";
}

size_t weight_format_size(WeightFormat format) { return format == WeightFormat::kF32 ? 4 : 2; }

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
  }
}

}  // namespace tc::kernels
