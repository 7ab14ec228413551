// W8A8 (q8_row_dynamic) matmul speed at Qwen2.5-0.5B shapes: decode GEMV
// (one token) and a 128-token prefill GEMM, for each kernel the CPU has, with
// the fp32 and weight-only q8_row kernels alongside for comparison.
// Counters (rates, printed as "GB=…/s GOP=…/s"): GB of weight bytes (int8
// values + fp32 row scales, or fp32 weights) per second, each call reading
// the weights once, and GOP per second (2·rows·cols·tokens per call).
#include <cmath>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_quant.h"
#include "kernels/cpu/q8_dynamic.h"

namespace {

using tc::kernels::Q8DynamicKernel;
using tc::weights::WeightFormat;
using tc::weights::WeightMatrix;

std::vector<float> random_vector(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> out(n);
  for (float& v : out) v = normal(rng);
  return out;
}

// Per-row absmax/127 int8 (the q8_row rules), tagged `format`.
WeightMatrix make_q8(const std::vector<float>& values, int64_t rows, int64_t cols,
                     WeightFormat format) {
  WeightMatrix m;
  m.format = format;
  m.rows = rows;
  m.cols = cols;
  m.storage.resize(static_cast<size_t>(rows * cols));
  m.scales.resize(static_cast<size_t>(rows) * sizeof(float));
  auto* q = reinterpret_cast<int8_t*>(m.storage.data());
  auto* scales = reinterpret_cast<float*>(m.scales.data());
  for (int64_t r = 0; r < rows; ++r) {
    float max_abs = 0.0f;
    for (int64_t c = 0; c < cols; ++c)
      max_abs = std::fmax(max_abs, std::fabs(values[r * cols + c]));
    scales[r] = max_abs / 127.0f;
    for (int64_t c = 0; c < cols; ++c) {
      const float v = scales[r] == 0.0f ? 0.0f : std::nearbyint(values[r * cols + c] / scales[r]);
      q[r * cols + c] = static_cast<int8_t>(std::fmin(127.0f, std::fmax(-127.0f, v)));
    }
  }
  return m;
}

// Kernel argument: 0 scalar, 1 avx2, 2 avx512-vnni, 3 dispatched fp32
// (matmul on the f32 matrix), 4 dispatched q8_row (weight-only int8).
void BM_Matmul(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1), n = state.range(2);
  const int kernel = static_cast<int>(state.range(3));
  const std::vector<float> values = random_vector(size_t(rows * cols), 1, 0.05f);
  const std::vector<float> x = random_vector(size_t(n * cols), 2, 1.0f);
  std::vector<float> y(size_t(n * rows));
  WeightMatrix w;
  if (kernel == 3) {
    w = tc::weights::make_f32_matrix(rows, cols, values.data());
  } else {
    w = make_q8(values, rows, cols,
                kernel == 4 ? WeightFormat::kQ8Row : WeightFormat::kQ8RowDynamic);
  }
  const auto q8_kernel = static_cast<Q8DynamicKernel>(kernel);
  if (kernel <= 2 && !tc::kernels::q8_dynamic_kernel_supported(q8_kernel)) {
    state.SkipWithError("kernel not supported on this CPU");
    return;
  }
  state.SetLabel(kernel == 3   ? "f32"
                 : kernel == 4 ? "q8_row (weight-only)"
                               : std::string(tc::kernels::q8_dynamic_kernel_name(q8_kernel)));
  for (auto _ : state) {
    if (kernel <= 2) {
      tc::kernels::matmul_q8_dynamic_with(q8_kernel, w, x.data(), n, y.data());
    } else {
      tc::kernels::matmul(w, x.data(), n, y.data());
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB"] =
      benchmark::Counter(double(w.bytes()) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GOP"] = benchmark::Counter(2.0 * double(rows * cols * n) / 1e9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols", "n", "kernel"});
  const int64_t shapes[][2] = {{896, 896}, {4864, 896}, {896, 4864}};
  for (const int64_t n : {1, 128}) {
    for (const auto& shape : shapes) {
      for (const int64_t kernel : {0, 1, 2, 3, 4}) {
        // The scalar kernel at 128 tokens only once: it is slow and only a baseline.
        if (kernel == 0 && n > 1 && (shape[0] != 896 || shape[1] != 896)) continue;
        b->Args({shape[0], shape[1], n, kernel});
      }
    }
  }
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

BENCHMARK(BM_Matmul)->Apply(shapes);

}  // namespace
