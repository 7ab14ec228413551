// y = x · Wᵀ for every weight format: x is [n, cols] fp32, y is [n, rows]
// fp32, accumulation in fp32. With n = 1 this is the decode GEMV; with many
// tokens the prefill GEMM. Rows are split across the global thread pool.
#pragma once

#include <cstdint>

#include "kernels/cpu/weight_matrix.h"

namespace tc::kernels {

void matmul(const WeightMatrix& weight, const float* x, int64_t n, float* y);

// The obviously-correct twin: converts each weight to fp32 and sums in
// double. Tests compare the fast path against it.
void matmul_reference(const WeightMatrix& weight, const float* x, int64_t n, float* y);

}  // namespace tc::kernels
