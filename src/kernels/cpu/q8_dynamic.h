// W8A8 matmul for WeightFormat::kQ8RowDynamic: y = x · Wᵀ computed in
// integers. Each token's activations are quantized at run time to int8 with
// one symmetric fp32 scale per token; each weight row is already int8 with
// one fp32 scale per row. The int8 × int8 products are summed exactly in
// int32 and rescaled once per output: y[t][r] = (float(sum) · sw[r]) · sx[t].
//
// Every kernel (scalar, AVX2, AVX-512 VNNI) computes the same int32 sums and
// applies the same two fp32 multiplications in the same order, so all of them
// give bit-identical outputs; the scalar ones below are the references the
// tests compare against exactly.
#pragma once

#include <cstdint>
#include <string_view>

#include "weights/weight_matrix.h"

namespace tc::kernels {

using weights::WeightFormat;
using weights::WeightMatrix;

// Per-token symmetric quantization, the reference definition: for token t,
// sx = max_c |x[t][c]| / 127 and q[t][c] = clamp(round_half_even(x / sx),
// -127, 127); a token whose scale is 0 (all zeros, or so small that the
// division underflows) gets q = 0 and scale 0. x: [n, cols]; q: [n, cols];
// scales: [n].
void quantize_activations_q8(const float* x, int64_t n, int64_t cols, int8_t* q, float* scales);

// The single-threaded scalar reference: quantize_activations_q8, int32 dot
// products, the rescaling above. Accepts kQ8RowDynamic (and kQ8Row, which
// stores the same bytes).
void matmul_q8_dynamic_scalar(const WeightMatrix& weight, const float* x, int64_t n, float* y);

// The kernels matmul_q8_dynamic chooses between at run time (best first:
// AVX-512 VNNI, AVX2, scalar). Exposed so the tests can run each one that the
// CPU supports against the scalar reference.
enum class Q8DynamicKernel : uint8_t { kScalar, kAvx2, kAvx512Vnni };

std::string_view q8_dynamic_kernel_name(Q8DynamicKernel kernel);
bool q8_dynamic_kernel_supported(Q8DynamicKernel kernel);
// The kernel matmul_q8_dynamic uses on this CPU.
Q8DynamicKernel q8_dynamic_best_kernel();
// matmul_q8_dynamic with a chosen kernel (multi-threaded); fails if the CPU
// lacks it.
void matmul_q8_dynamic_with(Q8DynamicKernel kernel, const WeightMatrix& weight, const float* x,
                            int64_t n, float* y);

}  // namespace tc::kernels
