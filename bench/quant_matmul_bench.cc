// Matmul throughput per weight format at Qwen2-0.5B shapes: decode GEMV
// (bytes/s of weights streamed), a 128-token prefill GEMM (FLOP/s) and
// 2 to 7 tokens (both).
// TC_THREADS=N sets the pool size (default: one per hardware thread).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "bench_threads.h"
#include "core/thread_pool.h"
#include "kernels/cpu/matmul.h"
#include "weights/weight_matrix.h"

namespace {

using tc::weights::WeightFormat;
using tc::weights::WeightMatrix;

// Matrices are built once per (format, shape, copy) and kept: the largest f32 one is 545 MB.
const WeightMatrix& matrix(WeightFormat format, int64_t rows, int64_t cols, int64_t copy) {
  static std::map<std::tuple<int, int64_t, int64_t, int64_t>, WeightMatrix> cache;
  const auto key = std::make_tuple(static_cast<int>(format), rows, cols, copy);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::mt19937 rng(static_cast<unsigned>(1 + copy));
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> values(static_cast<size_t>(rows * cols));
  for (float& v : values) v = normal(rng);
  const WeightMatrix dense = tc::weights::make_f32_matrix(rows, cols, values.data());
  WeightMatrix m = tc::weights::convert_weights(dense, format);
  return cache.emplace(key, std::move(m)).first->second;
}

// mib > 0: each call takes the next of as many copies of the matrix as make
// up that many MiB, so that (with their sum far above the last-level cache)
// the weights come from memory, as in a model, where a token's ~170 matrices
// are far more than the caches hold, and not from the cache the last call
// left. mib = 0: the same matrix every call.
void run(benchmark::State& state, WeightFormat format) {
  tc::bench::init_threads_from_env();
  const int64_t rows = state.range(0), cols = state.range(1), n = state.range(2);
  const int64_t mib = state.range(3);
  const WeightMatrix& w = matrix(format, rows, cols, 0);
  const int64_t copies = std::max<int64_t>(
      1, ((mib << 20) + static_cast<int64_t>(w.bytes()) - 1) / static_cast<int64_t>(w.bytes()));
  std::vector<const WeightMatrix*> matrices;
  for (int64_t c = 0; c < copies; ++c) matrices.push_back(&matrix(format, rows, cols, c));
  std::vector<float> x(static_cast<size_t>(n * cols), 0.5f), y(static_cast<size_t>(n * rows));
  size_t call = 0;
  for (auto _ : state) {
    tc::kernels::matmul(*matrices[call++ % matrices.size()], x.data(), n, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.bytes()));
  state.counters["GFLOPs"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 2.0 * double(rows) * double(cols) * double(n) / 1e9,
      benchmark::Counter::kIsRate);
  state.counters["threads"] = static_cast<double>(tc::ThreadPool::global().size());
}

void shapes(benchmark::internal::Benchmark* b) {
  for (const auto& [rows, cols] :
       {std::pair<int64_t, int64_t>{896, 896}, {4864, 896}, {896, 4864}, {151936, 896}}) {
    b->Args({rows, cols, 1, 0});
  }
  // The decode shapes again, from memory (128 MiB of copies, four times the
  // L3 of the machine this was tuned on).
  for (const auto& [rows, cols] :
       {std::pair<int64_t, int64_t>{896, 896}, {4864, 896}, {896, 4864}}) {
    b->Args({rows, cols, 1, 128});
  }
  for (const int64_t mib : {0, 128}) {
    for (const auto& [rows, cols] :
         {std::pair<int64_t, int64_t>{896, 896}, {128, 896}, {4864, 896}, {896, 4864}}) {
      b->Args({rows, cols, 128, mib});
    }
  }
  // A few tokens (a speculative batch, a short prompt), from memory: below
  // kPackFromTokens the GEMM family reads the stored rows without packing.
  for (const int64_t n : {2, 4, 7}) {
    for (const auto& [rows, cols] :
         {std::pair<int64_t, int64_t>{896, 896}, {4864, 896}, {896, 4864}}) {
      b->Args({rows, cols, n, 128});
    }
  }
  b->ArgNames({"rows", "cols", "n", "mib"});
  b->Unit(benchmark::kMicrosecond);
  b->UseRealTime();
}

BENCHMARK_CAPTURE(run, f32, WeightFormat::kF32)->Apply(shapes);
BENCHMARK_CAPTURE(run, bf16, WeightFormat::kBF16)->Apply(shapes);
BENCHMARK_CAPTURE(run, f16, WeightFormat::kF16)->Apply(shapes);
BENCHMARK_CAPTURE(run, q8_row, WeightFormat::kQ8Row)->Apply(shapes);
BENCHMARK_CAPTURE(run, q8_dynamic, WeightFormat::kQ8RowDynamic)->Apply(shapes);
BENCHMARK_CAPTURE(run, q8_g128, WeightFormat::kQ8G128)->Apply(shapes);
BENCHMARK_CAPTURE(run, q4_g128, WeightFormat::kQ4G128)->Apply(shapes);

}  // namespace
