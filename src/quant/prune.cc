#include "quant/prune.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace tc::quant {

PruneStats prune_by_magnitude(weights::WeightMatrix& matrix, double target_sparsity) {
  if (matrix.format != weights::WeightFormat::kF32) {
    fail("magnitude pruning works on fp32 weights, got {}",
         weights::weight_format_name(matrix.format));
  }
  if (!(target_sparsity >= 0.0 && target_sparsity < 1.0)) {
    fail("pruning sparsity must be in [0, 1), got {}", target_sparsity);
  }
  PruneStats stats;
  stats.elements = matrix.rows * matrix.cols;
  float* w = reinterpret_cast<float*>(matrix.storage.data());
  const auto k =
      static_cast<int64_t>(std::floor(target_sparsity * static_cast<double>(stats.elements)));
  if (k > 0) {
    std::vector<float> magnitudes(static_cast<size_t>(stats.elements));
    for (int64_t i = 0; i < stats.elements; ++i) magnitudes[i] = std::fabs(w[i]);
    std::nth_element(magnitudes.begin(), magnitudes.begin() + (k - 1), magnitudes.end());
    const float threshold = magnitudes[static_cast<size_t>(k - 1)];
    // Everything strictly below the threshold goes; then ties at it, in order, until k.
    int64_t below = 0;
    for (int64_t i = 0; i < stats.elements; ++i) below += std::fabs(w[i]) < threshold;
    int64_t ties_left = k - below;
    for (int64_t i = 0; i < stats.elements; ++i) {
      const float magnitude = std::fabs(w[i]);
      if (magnitude < threshold || (magnitude == threshold && ties_left-- > 0)) {
        w[i] = 0.0f;
        ++stats.zeroed;
      }
    }
  }
  for (int64_t i = 0; i < stats.elements; ++i) stats.zeros += w[i] == 0.0f;
  return stats;
}

}  // namespace tc::quant
