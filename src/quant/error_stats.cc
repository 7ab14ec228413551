#include "quant/error_stats.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace tc::quant {

double relative_frobenius_error(const weights::WeightMatrix& original,
                                const weights::WeightMatrix& quantized) {
  if (original.rows != quantized.rows || original.cols != quantized.cols) {
    fail("relative_frobenius_error: shapes differ ({}x{} vs {}x{})", original.rows, original.cols,
         quantized.rows, quantized.cols);
  }
  std::vector<float> a(static_cast<size_t>(original.cols)), b(a.size());
  double diff = 0.0, norm = 0.0;
  for (int64_t r = 0; r < original.rows; ++r) {
    original.row_to_f32(r, a.data());
    quantized.row_to_f32(r, b.data());
    for (size_t c = 0; c < a.size(); ++c) {
      const double d = double(a[c]) - double(b[c]);
      diff += d * d;
      norm += double(a[c]) * double(a[c]);
    }
  }
  if (norm == 0.0) return diff == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(diff / norm);
}

}  // namespace tc::quant
