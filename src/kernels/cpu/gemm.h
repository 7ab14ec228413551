// Register-tiled GEMM for prefill: Y[n, rows] = X[n, cols] · W[rows, cols]ᵀ,
// with W in a dense stored format (f32, bf16, f16; half formats widened in
// registers). Both operands are contiguous along the reduction (cols) axis,
// as nn.Linear stores them, so the micro-kernel keeps a tile of RM tokens ×
// RN rows of accumulators and reduces each across SIMD lanes at the end of
// each cache block of the reduction axis.
#pragma once

#include <cstdint>

namespace tc::kernels {

enum class DenseFormat : uint8_t { kF32, kBF16, kF16 };

namespace avx512 {

// The AVX-512 kernel (gemm_avx512.cc). Call only when cpu_has_avx512() says so.
// Computes rows [row_begin, row_end) of Y. x: [n, cols]; w: [rows, cols] raw
// elements of `format`; y: [n, rows] (row stride `rows`). Single-threaded:
// the caller splits rows across threads.
void gemm_rows(DenseFormat format, const void* w, int64_t cols, const float* x, int64_t n, float* y,
               int64_t rows, int64_t row_begin, int64_t row_end);

}  // namespace avx512

}  // namespace tc::kernels
