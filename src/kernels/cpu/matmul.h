// y = x · Wᵀ for every weight format: x is [n, cols] fp32, y is [n, rows]
// fp32, accumulation in fp32. With n = 1 this is the decode GEMV; with many
// tokens the prefill GEMM. Rows are split across the global thread pool.
#pragma once

#include <cstdint>
#include <span>

#include "weights/weight_matrix.h"

namespace tc::kernels {

using weights::WeightFormat;
using weights::WeightMatrix;

void matmul(const WeightMatrix& weight, const float* x, int64_t n, float* y);

// One weight and where its product goes: y is [n, weight->rows].
struct MatmulTarget {
  const WeightMatrix* weight;
  float* y;
};

// y = x · Wᵀ for several weights with the same input x (a layer's q, k and
// v). With many tokens all of their panels are tasks of one pool job, so the
// small k and v matrices do not each pay a hand-off and a tail; with one
// token (decode) the threads walk all of their rows in one job when the
// weights share a format. The results are those of matmul on each weight.
void matmul_same_input(std::span<const MatmulTarget> targets, const float* x, int64_t n);

// The first half of the SiLU-gated MLP: gate_y = silu(x · gateᵀ) ⊙ (x · upᵀ),
// with up_y ([n, up.rows]) as scratch. With many tokens each task multiplies
// the same rows of both weights and applies SiLU·mul to its block while it is
// still in cache, instead of in a separate pass over both outputs.
void matmul_silu_gate(const WeightMatrix& gate, const WeightMatrix& up, const float* x, int64_t n,
                      float* gate_y, float* up_y);

// The obviously-correct twin: converts each weight to fp32 and sums in
// double. Tests compare the fast path against it.
void matmul_reference(const WeightMatrix& weight, const float* x, int64_t n, float* y);

}  // namespace tc::kernels
