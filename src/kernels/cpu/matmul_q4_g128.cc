// PLACEHOLDER until the fast kernel lands: dequantize each row and dot it.
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu/matmul_quant.h"

namespace tc::kernels {

void matmul_q4_g128(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  ThreadPool::global().parallel_for(static_cast<size_t>(weight.rows), 16, [&](size_t begin, size_t end) {
    std::vector<float> row(static_cast<size_t>(weight.cols));
    for (size_t r = begin; r < end; ++r) {
      weight.row_to_f32(static_cast<int64_t>(r), row.data());
      for (int64_t t = 0; t < n; ++t) {
        float sum = 0;
        for (int64_t c = 0; c < weight.cols; ++c) sum += row[c] * x[t * weight.cols + c];
        y[t * weight.rows + static_cast<int64_t>(r)] = sum;
      }
    }
  });
}

}  // namespace tc::kernels
