// The element-wise and row-wise operators of a Qwen2 block at Qwen2.5-0.5B
// widths, for 1 token (decode) and 128 tokens (prefill): RMSNorm, RoPE
// (table built once per forward, applied to q), SiLU·mul. Counter: GB/s of
// activations read and written (each operator is one pass over memory).
#include <algorithm>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "kernels/cpu/ops.h"
#include "model/rope.h"

namespace {

constexpr int64_t kHidden = 896, kIntermediate = 4864, kHeads = 14, kHeadDim = 64;

std::vector<float> random_vector(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(n);
  for (float& v : out) v = normal(rng);
  return out;
}

void set_bytes(benchmark::State& state, double bytes_per_call) {
  state.counters["GB/s"] = benchmark::Counter(
      bytes_per_call * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void rms_norm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> x = random_vector(static_cast<size_t>(n * kHidden), 1);
  const std::vector<float> weight = random_vector(kHidden, 2);
  std::vector<float> out(x.size());
  for (auto _ : state) {
    tc::kernels::rms_norm(x.data(), weight.data(), n, kHidden, 1e-6, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state, 2.0 * 4.0 * static_cast<double>(x.size()));
}

void rope(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<float> q = random_vector(static_cast<size_t>(n * kHeads * kHeadDim), 3);
  std::vector<int64_t> positions(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) positions[static_cast<size_t>(t)] = 100 + t;
  tc::model::RopeAngles angles;
  tc::model::make_rope_angles(positions.data(), n, kHeadDim, 1e6, angles);
  for (auto _ : state) {
    tc::kernels::rope_apply(q.data(), n, kHeads, kHeadDim, angles.cos.data(), angles.sin.data());
    benchmark::DoNotOptimize(q.data());
  }
  set_bytes(state, 2.0 * 4.0 * static_cast<double>(q.size()));
}

void rope_table(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<int64_t> positions(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) positions[static_cast<size_t>(t)] = 100 + t;
  tc::model::RopeAngles angles;
  for (auto _ : state) {
    tc::model::make_rope_angles(positions.data(), n, kHeadDim, 1e6, angles);
    benchmark::DoNotOptimize(angles.cos.data());
  }
  set_bytes(state, 2.0 * 4.0 * static_cast<double>(n * kHeadDim / 2));
}

void silu_mul(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> gate = random_vector(static_cast<size_t>(n * kIntermediate), 4);
  const std::vector<float> up = random_vector(gate.size(), 5);
  std::vector<float> work = gate;
  for (auto _ : state) {
    // Refill so every call sees the same inputs (the copy is counted too).
    std::copy(gate.begin(), gate.end(), work.begin());
    tc::kernels::silu_mul(work.data(), up.data(), static_cast<int64_t>(work.size()));
    benchmark::DoNotOptimize(work.data());
  }
  set_bytes(state, 3.0 * 4.0 * static_cast<double>(gate.size()));
}

BENCHMARK(rms_norm)->Arg(1)->Arg(128);
BENCHMARK(rope)->Arg(1)->Arg(128);
BENCHMARK(rope_table)->Arg(1)->Arg(128);
BENCHMARK(silu_mul)->Arg(1)->Arg(128);

}  // namespace
