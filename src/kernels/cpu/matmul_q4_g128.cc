// kQ4G128: int4 with an fp16 scale per group of 128 inputs, on a CPU without
// AVX-512 (AVX-512 takes the decode kernels for one token and the GEMM
// family for several, matmul.cc): a dot product per (row, token) with the
// best dot kernel this CPU has (AVX2 or scalar, dot.h), group scales applied
// per group. No dequantized copy of the matrix is made.
#include "core/thread_pool.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/matmul_quant.h"

namespace tc::kernels {

void matmul_q4_g128(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  const DotQ4 dot = dot_kernels().q4;
  const int64_t cols = weight.cols;
  ThreadPool::global().parallel_for(
      static_cast<size_t>(weight.rows), 16, [&](size_t begin, size_t end) {
        for (auto r = static_cast<int64_t>(begin); r < static_cast<int64_t>(end); ++r) {
          const uint8_t* row = weight.storage.data() + r * weight.row_bytes();
          const uint16_t* scales = weight.group_scales() + r * weight.scales_per_row();
          for (int64_t t = 0; t < n; ++t)
            y[t * weight.rows + r] = dot(row, scales, x + t * cols, cols);
        }
      });
}

}  // namespace tc::kernels
