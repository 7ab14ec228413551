// y = x · Wᵀ for the quantized weight formats (see weight_matrix.h) at the
// AVX2 and scalar levels (matmul_q8_dynamic also at AVX-512: W8A8 has its own
// kernels at every level). Each is multi-threaded over rows; each has the
// dequantizing reference (matmul_reference) as its twin in the tests.
#pragma once

#include <cstdint>

#include "weights/weight_matrix.h"

namespace tc::kernels {

using weights::WeightFormat;
using weights::WeightMatrix;

// Weight-only int8 per row: dequantized inside the kernel, fp32 activations.
void matmul_q8_row(const WeightMatrix& weight, const float* x, int64_t n, float* y);
// W8A8: each token's activations quantized to int8 (per token, symmetric),
// integer dot products accumulated in int32, rescaled to fp32.
void matmul_q8_dynamic(const WeightMatrix& weight, const float* x, int64_t n, float* y);
// int8 with one fp16 scale per group of 128 inputs: int8 dot products per
// group, scaled (matmul_q8_g128.cc).
void matmul_q8_g128(const WeightMatrix& weight, const float* x, int64_t n, float* y);
// int4 with one fp16 scale per group of 128 inputs, dequantized inside the kernel.
void matmul_q4_g128(const WeightMatrix& weight, const float* x, int64_t n, float* y);

}  // namespace tc::kernels
