// Causal GQA attention at the Qwen2.5-0.5B head shape (14 query heads, 2 kv
// heads, head_dim 64): the scalar reference (attention_causal_reference)
// against the fast path (attention_causal), for a prefill of n tokens from
// position 0 and for one decode token after a context of ctx - 1 tokens.
// Both run on the global thread pool (all hardware threads, or TC_THREADS),
// so times are wall-clock (UseRealTime).
// Counters: tokens/s (query positions per second) and FLOP/s, counting
// 4·heads·head_dim FLOPs per visible (query, key) pair (2 for the score dot
// product, 2 for the weighted sum of values; softmax not counted). The pairs
// are exact: Σ_t (start + t + 1), i.e. n(n+1)/2 for a prefill from 0 and ctx
// for a decode step.
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_threads.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/cpu/attention.h"

namespace {

using tc::kernels::AttentionShape;

constexpr AttentionShape kQwen05B{14, 2, 64};

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(n);
  for (float& v : out) v = normal(rng);
  return out;
}

// Key and value rows [positions][kv_heads][head_dim] as KV tiles (the KV
// cache's layout), fp32 or fp16.
template <typename T>
std::vector<T> to_kv_tiles(const std::vector<float>& keys, const std::vector<float>& values,
                           const AttentionShape& s) {
  const int64_t row = s.kv_heads * s.head_dim;
  const auto positions = static_cast<int64_t>(keys.size()) / row;
  std::vector<T> out(static_cast<size_t>(tc::kv::kv_tiles_size(positions, s.kv_heads, s.head_dim)));
  const auto narrow = [](float x) {
    if constexpr (std::is_same_v<T, float>) {
      return x;
    } else {
      return tc::f32_to_f16(x);
    }
  };
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t h = 0; h < s.kv_heads; ++h) {
      for (int64_t d = 0; d < s.head_dim; ++d) {
        const auto at = static_cast<size_t>(p * row + h * s.head_dim + d);
        out[static_cast<size_t>(tc::kv::kv_key_index(p, h, d, s.kv_heads, s.head_dim))] =
            narrow(keys[at]);
        out[static_cast<size_t>(tc::kv::kv_value_index(p, h, d, s.kv_heads, s.head_dim))] =
            narrow(values[at]);
      }
    }
  }
  return out;
}

// Implementation argument: 0 reference, 1 fast.
void run(benchmark::State& state, int64_t n, int64_t start) {
  tc::bench::init_threads_from_env();
  const bool fast = state.range(1) != 0;
  const AttentionShape& s = kQwen05B;
  const auto q = random_vector(static_cast<size_t>(n * s.heads * s.head_dim), 1);
  const auto k = random_vector(static_cast<size_t>((start + n) * s.kv_heads * s.head_dim), 2);
  const auto v = random_vector(k.size(), 3);
  std::vector<float> out(q.size());
  const auto attention =
      fast ? tc::kernels::attention_causal : tc::kernels::attention_causal_reference;
  const tc::CpuFeatures& f = tc::cpu_features();
  // The fast path falls back to the reference without AVX2+FMA; say so.
  state.SetLabel(!fast               ? "reference"
                 : (f.avx2 && f.fma) ? "fast avx2+fma"
                                     : "fast (no AVX2: runs the reference)");
  for (auto _ : state) {
    attention(q.data(), k.data(), v.data(), n, start, s, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double pairs = static_cast<double>(n * start + n * (n + 1) / 2);
  const double flops = 4.0 * static_cast<double>(s.heads * s.head_dim) * pairs;
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["tokens"] =
      benchmark::Counter(static_cast<double>(n) * iterations, benchmark::Counter::kIsRate);
  state.counters["FLOP"] = benchmark::Counter(flops * iterations, benchmark::Counter::kIsRate);
}

// One decode token through all 24 layers of the 0.5B shape, each layer with
// its own K and V (2 MB per layer at 2048 keys in fp32, 48 MB in all): as in
// a model, the keys and values come from memory, which the one-layer
// benchmark above (cache-resident after the first iteration) does not show.
// The iterations cycle through kCopies sets of the 24 layers' caches: with
// one set, part of its 48 MB (24 MB in fp16) was still in the 32 MB L3 when
// the next iteration read it, and the benchmark measured the fp32 tiles at
// 790-950 us where a model spends 1480-1610 (with cycling: 1130-1700). In a
// model the layers' weights stream through the L3 between two reads of a
// layer's cache. Counter: KV bytes read per second. Arguments: context, and
// the cache: 0 fp32 keys and values as rows (attention_causal), 1 fp16 KV
// tiles, 2 fp32 KV tiles (attention_decode; 1 and 2 are the KV cache's
// layouts).
enum class DecodeCache : int64_t { kF32Rows = 0, kF16Tiles = 1, kF32Tiles = 2 };

void BM_AttentionDecodeLayers(benchmark::State& state) {
  tc::bench::init_threads_from_env();
  constexpr int kLayers = 24;
  constexpr int kCopies = 4;
  const auto cache = static_cast<DecodeCache>(state.range(1));
  const bool f16 = cache == DecodeCache::kF16Tiles;
  const AttentionShape& s = kQwen05B;
  const int64_t context = state.range(0);
  const auto q = random_vector(static_cast<size_t>(s.heads * s.head_dim), 1);
  // Per layer: keys and values as rows (kF32Rows), or the KV tiles.
  std::vector<std::vector<float>> keys, values, tiles;
  std::vector<std::vector<uint16_t>> tiles16;
  for (int layer = 0; layer < kLayers * kCopies; ++layer) {
    auto k = random_vector(static_cast<size_t>(context * s.kv_heads * s.head_dim),
                           static_cast<uint32_t>(2 * layer + 2));
    auto v = random_vector(k.size(), static_cast<uint32_t>(2 * layer + 3));
    switch (cache) {
      case DecodeCache::kF32Rows:
        keys.push_back(std::move(k));
        values.push_back(std::move(v));
        break;
      case DecodeCache::kF16Tiles:
        tiles16.push_back(to_kv_tiles<uint16_t>(k, v, s));
        break;
      case DecodeCache::kF32Tiles:
        tiles.push_back(to_kv_tiles<float>(k, v, s));
        break;
    }
  }
  std::vector<float> out(q.size());
  size_t copy = 0;
  for (auto _ : state) {
    for (size_t layer = copy * kLayers; layer < (copy + 1) * kLayers; ++layer) {
      switch (cache) {
        case DecodeCache::kF32Rows:
          tc::kernels::attention_causal(q.data(), keys[layer].data(), values[layer].data(), 1,
                                        context - 1, s, out.data());
          break;
        case DecodeCache::kF16Tiles:
          tc::kernels::attention_decode(q.data(), context - 1,
                                        {tc::kv::KvFormat::kF16, tiles16[layer].data()}, s,
                                        out.data());
          break;
        case DecodeCache::kF32Tiles:
          tc::kernels::attention_decode(
              q.data(), context - 1, {tc::kv::KvFormat::kF32, tiles[layer].data()}, s, out.data());
          break;
      }
    }
    copy = (copy + 1) % kCopies;
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double bytes =
      2.0 * kLayers * static_cast<double>(context * s.kv_heads * s.head_dim) * (f16 ? 2 : 4);
  state.counters["KV_bytes"] =
      benchmark::Counter(bytes * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1024);
}

// Arguments: tokens n, implementation.
void BM_AttentionPrefill(benchmark::State& state) { run(state, state.range(0), 0); }

// Arguments: context (keys seen, the new token's included), implementation.
void BM_AttentionDecode(benchmark::State& state) { run(state, 1, state.range(0) - 1); }

BENCHMARK(BM_AttentionPrefill)
    ->ArgNames({"n", "fast"})
    ->ArgsProduct({{128, 512, 2048}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_AttentionDecode)
    ->ArgNames({"ctx", "fast"})
    ->ArgsProduct({{128, 512, 2048}, {0, 1}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK(BM_AttentionDecodeLayers)
    ->ArgNames({"ctx", "cache"})
    ->ArgsProduct({{128, 512, 2048}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
