// kQ8G128: int8 with an fp16 scale per group of 128 inputs: one token on any
// CPU (the format has no AVX-512 decode kernel yet), and several on a CPU
// without AVX-512 (AVX-512 takes the GEMM family for those, matmul.cc):
// per (row, token), the int8 dot product of each group (dot.h: AVX2 where
// the CPU has it, else scalar) times the group's scale, so no dequantized
// copy is made and x is read in place.
#include <algorithm>

#include "core/dtype.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/matmul_quant.h"

namespace tc::kernels {

void matmul_q8_g128(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  const DotQ8 dot = dot_kernels().q8;
  const int64_t cols = weight.cols, groups = weight.scales_per_row();
  ThreadPool::global().parallel_for(
      static_cast<size_t>(weight.rows), 16, [&](size_t begin, size_t end) {
        for (auto r = static_cast<int64_t>(begin); r < static_cast<int64_t>(end); ++r) {
          const int8_t* q = weight.i8() + r * cols;
          const uint16_t* scales = weight.group_scales() + r * groups;
          for (int64_t t = 0; t < n; ++t) {
            const float* xt = x + t * cols;
            float sum = 0.0f;
            for (int64_t g = 0; g < groups; ++g) {
              const int64_t c0 = g * weights::kScaleGroup;
              const int64_t len = std::min(weights::kScaleGroup, cols - c0);
              sum += f16_to_f32(scales[g]) * dot(q + c0, xt + c0, len);
            }
            y[t * weight.rows + r] = sum;
          }
        }
      });
}

}  // namespace tc::kernels
