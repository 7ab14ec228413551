#include "quant/int8_rowwise.h"

#include <vector>

#include "core/error.h"

namespace tc::quant {

using kernels::WeightFormat;
using kernels::WeightMatrix;

namespace {

bool is_dense(WeightFormat format) {
  return format == WeightFormat::kF32 || format == WeightFormat::kBF16 ||
         format == WeightFormat::kF16;
}

}  // namespace

WeightMatrix quantize_q8_row(const WeightMatrix& dense, bool dynamic) {
  if (!is_dense(dense.format)) {
    fail("quantize_q8_row: expected a dense (f32/bf16/f16) matrix, got {}",
         kernels::weight_format_name(dense.format));
  }
  WeightMatrix out;
  out.format = dynamic ? WeightFormat::kQ8RowDynamic : WeightFormat::kQ8Row;
  out.rows = dense.rows;
  out.cols = dense.cols;
  out.storage.resize(static_cast<size_t>(dense.rows * dense.cols));
  out.scales.resize(static_cast<size_t>(dense.rows) * sizeof(float));
  auto* values = reinterpret_cast<int8_t*>(out.storage.data());
  auto* scales = reinterpret_cast<float*>(out.scales.data());
  std::vector<float> row(static_cast<size_t>(dense.cols));
  for (int64_t r = 0; r < dense.rows; ++r) {
    dense.row_to_f32(r, row.data());
    const float scale = q8_row_scale(row.data(), dense.cols);
    scales[r] = scale;
    int8_t* q = values + r * dense.cols;
    for (int64_t c = 0; c < dense.cols; ++c) {
      q[c] = static_cast<int8_t>(q8_quantize_value(row[static_cast<size_t>(c)], scale));
    }
  }
  return out;
}

}  // namespace tc::quant
