#include "weights/weight_matrix.h"

#include <cstring>
#include <vector>

namespace tc::weights {

void WeightMatrix::row_to_f32(int64_t r, float* out) const {
  weight_format_traits(format).dequantize_row(*this, r, out);
}

WeightMatrix make_weight_matrix(WeightFormat format, int64_t rows, int64_t cols) {
  WeightMatrix m;
  m.format = format;
  m.rows = rows;
  m.cols = cols;
  m.storage.resize(static_cast<size_t>(rows * weight_row_bytes(format, cols)));
  m.scales.resize(static_cast<size_t>(rows * weight_scale_row_bytes(format, cols)));
  return m;
}

WeightMatrix make_f32_matrix(int64_t rows, int64_t cols, const float* values) {
  WeightMatrix m = make_weight_matrix(WeightFormat::kF32, rows, cols);
  std::memcpy(m.storage.data(), values, m.storage.size());
  return m;
}

WeightMatrix convert_weights(const WeightMatrix& source, WeightFormat format) {
  WeightMatrix out = make_weight_matrix(format, source.rows, source.cols);
  const auto encode = weight_format_traits(format).encode_row;
  const int64_t row_bytes = out.row_bytes();
  const int64_t scale_bytes = weight_scale_row_bytes(format, out.cols);
  std::vector<float> row(static_cast<size_t>(source.cols));
  for (int64_t r = 0; r < source.rows; ++r) {
    source.row_to_f32(r, row.data());
    encode(row.data(), source.cols, out.storage.data() + r * row_bytes,
           out.scales.data() + r * scale_bytes);
  }
  return out;
}

}  // namespace tc::weights
