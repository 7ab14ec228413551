// Unstructured magnitude pruning: zero the smallest-magnitude weights of a
// matrix in place. The matrix stays dense (same bytes, same kernels): this is
// a quality-versus-sparsity study, not a speed method.
#pragma once

#include <cstdint>

#include "weights/weight_matrix.h"

namespace tc::quant {

struct PruneStats {
  int64_t elements = 0;
  int64_t zeroed = 0;  // set to zero by this call
  int64_t zeros = 0;   // zeros after the call (including ones already there)
  double sparsity() const { return elements ? static_cast<double>(zeros) / elements : 0.0; }
};

// Zeroes exactly floor(target_sparsity · elements) weights: those with the
// smallest |w| (threshold at the k-th smallest magnitude; ties at the
// threshold are broken by position, first come first zeroed). fp32 only.
PruneStats prune_by_magnitude(weights::WeightMatrix& matrix, double target_sparsity);

}  // namespace tc::quant
