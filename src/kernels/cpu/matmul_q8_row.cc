// kQ8Row: weight-only int8 per row, on a CPU without AVX-512 (AVX-512 takes
// the decode kernels for one token and the GEMM family for several,
// matmul.cc): a dot product per (row, token) with the best dot kernel this
// CPU has (AVX2 or scalar, dot.h), then the row scale. No dequantized copy
// of the matrix is made.
#include "core/thread_pool.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/matmul_quant.h"

namespace tc::kernels {

void matmul_q8_row(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  const DotQ8 dot = dot_kernels().q8;
  const int64_t cols = weight.cols;
  ThreadPool::global().parallel_for(
      static_cast<size_t>(weight.rows), 16, [&](size_t begin, size_t end) {
        for (auto r = static_cast<int64_t>(begin); r < static_cast<int64_t>(end); ++r) {
          const int8_t* q = weight.i8() + r * cols;
          const float scale = weight.row_scales()[r];
          for (int64_t t = 0; t < n; ++t)
            y[t * weight.rows + r] = scale * dot(q, x + t * cols, cols);
        }
      });
}

}  // namespace tc::kernels
