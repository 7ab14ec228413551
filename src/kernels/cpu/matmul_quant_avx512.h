// AVX-512 halves of the weight-only quantized kernels (matmul_q8_row.cc,
// matmul_q4_g128.cc), in matmul_quant_avx512.cc.
// Call only when cpu_has_avx512(). Each computes rows [row_begin, row_end)
// of y [n, rows] (row stride `rows`) single-threaded.
#pragma once

#include <cstdint>

namespace tc::kernels {

namespace avx512 {

// kQ8Row: q int8 [rows, cols], scales fp32 [rows].
void q8_row_gemm(const int8_t* q, const float* scales, int64_t cols, const float* x, int64_t n,
                 float* y, int64_t rows, int64_t row_begin, int64_t row_end);

// kQ4G128: packed [rows, (cols+1)/2] bytes, scales fp16 [rows, ceil(cols/128)].
void q4_g128_gemm(const uint8_t* packed, const uint16_t* scales, int64_t cols, const float* x,
                  int64_t n, float* y, int64_t rows, int64_t row_begin, int64_t row_end);

}  // namespace avx512

}  // namespace tc::kernels
