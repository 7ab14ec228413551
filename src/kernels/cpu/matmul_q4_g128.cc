// kQ4G128: int4 with an fp16 scale per group of 128 inputs. The AVX-512
// kernel (matmul_quant_avx512.cc) dequantizes into a small per-thread fp32
// tile reused across all tokens; the scalar fallback unpacks one row at a
// time and reuses it across tokens. Neither makes a dequantized copy of the
// matrix. (matmul() sends one token on AVX-512 to the decode kernels, and
// many to the packed GEMM.)
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/matmul_quant.h"
#include "kernels/cpu/matmul_quant_avx512.h"

namespace tc::kernels {

namespace {

// Rows per thread chunk; a multiple of the 6-row prefill tile.
constexpr size_t kRowGrain = 48;

// Without AVX-512: a dot product per (row, token) with the best dot kernel
// this CPU has (AVX2 or scalar, dot.h), group scales applied per group.
void q4_g128_dots(const WeightMatrix& weight, const float* x, int64_t n, float* y,
                  int64_t row_begin, int64_t row_end) {
  const DotQ4 dot = dot_kernels().q4;
  const int64_t cols = weight.cols;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = weight.storage.data() + r * weight.row_bytes();
    const uint16_t* scales = weight.group_scales() + r * weight.scales_per_row();
    for (int64_t t = 0; t < n; ++t) y[t * weight.rows + r] = dot(row, scales, x + t * cols, cols);
  }
}

}  // namespace

void matmul_q4_g128(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  const bool avx512 = cpu_has_avx512();
  const uint8_t* packed = weight.storage.data();
  const uint16_t* scales = weight.group_scales();
  ThreadPool::global().parallel_for(
      static_cast<size_t>(weight.rows), kRowGrain, [&](size_t begin, size_t end) {
        const auto b = static_cast<int64_t>(begin), e = static_cast<int64_t>(end);
        if (!avx512) return q4_g128_dots(weight, x, n, y, b, e);
        avx512::q4_g128_gemm(packed, scales, weight.cols, x, n, y, weight.rows, b, e);
      });
}

}  // namespace tc::kernels
