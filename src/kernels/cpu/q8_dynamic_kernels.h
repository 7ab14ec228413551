// Row kernels of the W8A8 matmul (see q8_dynamic.h), one per instruction set.
#pragma once

#include <cstdint>

#include "kernels/cpu/gemv.h"  // GemvNext

namespace tc::kernels {

// For rows [row_begin, row_end) and tokens [0, n):
//   y[t * rows + r] = (float(Σ_c w[r][c] · qx[t][c]) · w_scales[r]) · x_scales[t]
// w: int8 [rows, cols], every value in [-128, 127]; qx: int8 [n, x_stride],
// every value in [-127, 127], x_stride >= cols rounded up to a multiple of 64,
// and the padding past cols is zero. Single-threaded: the caller splits rows
// across threads and tokens into cache tiles.
using Q8DynamicRowsFn = void (*)(const int8_t* w, const float* w_scales, int64_t cols,
                                 const int8_t* qx, const float* x_scales, int64_t x_stride,
                                 int64_t n, float* y, int64_t rows, int64_t row_begin,
                                 int64_t row_end);

void q8_dynamic_rows_scalar(const int8_t* w, const float* w_scales, int64_t cols, const int8_t* qx,
                            const float* x_scales, int64_t x_stride, int64_t n, float* y,
                            int64_t rows, int64_t row_begin, int64_t row_end);
// Needs AVX2 (matmul_q8_dynamic.cc).
namespace avx2 {
void q8_dynamic_rows(const int8_t* w, const float* w_scales, int64_t cols, const int8_t* qx,
                     const float* x_scales, int64_t x_stride, int64_t n, float* y, int64_t rows,
                     int64_t row_begin, int64_t row_end);
}  // namespace avx2
namespace avx512 {

// Needs AVX-512 F/BW/VL and AVX-512 VNNI (q8_dynamic_avx512.cc).
void q8_dynamic_rows_vnni(const int8_t* w, const float* w_scales, int64_t cols, const int8_t* qx,
                          const float* x_scales, int64_t x_stride, int64_t n, float* y,
                          int64_t rows, int64_t row_begin, int64_t row_end);
// The one-token case (n == 1) of the above, as a decode kernel: one stream
// of rows that continues into `next` (see GemvNext in gemv.h).
void q8_dynamic_token_vnni(const int8_t* w, const float* w_scales, int64_t cols, const int8_t* qx,
                           float x_scale, float* y, int64_t row_begin, int64_t row_end,
                           const GemvNext& next);

}  // namespace avx512

}  // namespace tc::kernels
