#include "kernels/cpu/matmul.h"

#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/matmul_quant.h"

namespace tc::kernels {

namespace {

// Rows per thread chunk: enough work per chunk that dispatch cost is small.
constexpr size_t kRowGrain = 16;

// Each weight row is read from memory once and dotted with every token, so
// prefill streams the weights once, like decode.
template <typename Dot, typename T>
void matmul_rows(const T* weight, int64_t cols, const float* x, int64_t n, float* y, int64_t rows,
                 Dot dot) {
  ThreadPool::global().parallel_for(
      static_cast<size_t>(rows), kRowGrain, [&](size_t begin, size_t end) {
        for (size_t r = begin; r < end; ++r) {
          const T* row = weight + r * static_cast<size_t>(cols);
          for (int64_t t = 0; t < n; ++t)
            y[t * rows + static_cast<int64_t>(r)] = dot(row, x + t * cols, cols);
        }
      });
}

DenseFormat dense_format(WeightFormat format) {
  switch (format) {
    case WeightFormat::kBF16:
      return DenseFormat::kBF16;
    case WeightFormat::kF16:
      return DenseFormat::kF16;
    default:
      return DenseFormat::kF32;
  }
}

bool is_dense(WeightFormat format) {
  return format == WeightFormat::kF32 || format == WeightFormat::kBF16 ||
         format == WeightFormat::kF16;
}

}  // namespace

bool cpu_has_avx512() {
  const CpuFeatures& f = cpu_features();
  return f.avx512f && f.avx512bw && f.avx512vl && f.fma && f.f16c;
}

void matmul(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  switch (weight.format) {
    case WeightFormat::kQ8Row:
      return matmul_q8_row(weight, x, n, y);
    case WeightFormat::kQ8RowDynamic:
      return matmul_q8_dynamic(weight, x, n, y);
    case WeightFormat::kQ4G128:
      return matmul_q4_g128(weight, x, n, y);
    default:
      break;
  }
  // Several tokens: the register-tiled GEMM reuses each loaded weight vector
  // for up to four tokens. One token (decode): a dot product per row.
  if (n > 1 && cpu_has_avx512() && is_dense(weight.format)) {
    const DenseFormat format = dense_format(weight.format);
    ThreadPool::global().parallel_for(
        static_cast<size_t>(weight.rows), 48, [&](size_t begin, size_t end) {
          gemm_rows_avx512(format, weight.storage.data(), weight.cols, x, n, y, weight.rows,
                           static_cast<int64_t>(begin), static_cast<int64_t>(end));
        });
    return;
  }
  const DotKernels& dot = dot_kernels();
  switch (weight.format) {
    case WeightFormat::kF32:
      matmul_rows(weight.f32(), weight.cols, x, n, y, weight.rows, dot.f32);
      return;
    case WeightFormat::kBF16:
      matmul_rows(weight.u16(), weight.cols, x, n, y, weight.rows, dot.bf16);
      return;
    case WeightFormat::kF16:
      matmul_rows(weight.u16(), weight.cols, x, n, y, weight.rows, dot.f16);
      return;
    default:
      return;
  }
}

void matmul_reference(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  std::vector<float> row(static_cast<size_t>(weight.cols));
  for (int64_t r = 0; r < weight.rows; ++r) {
    weight.row_to_f32(r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double sum = 0.0;
      for (int64_t c = 0; c < weight.cols; ++c)
        sum += double(row[c]) * double(x[t * weight.cols + c]);
      y[t * weight.rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace tc::kernels
