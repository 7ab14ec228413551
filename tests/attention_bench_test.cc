// Tests of the attention kernel benchmark (eval/attention_bench): every slot
// is there, each CPU kernel is timed at every length with its exact FLOP
// count, the fast kernels agree with the naive one, lengths are capped at
// the model's positions; and of eval::time_runs, which times it.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/cpu_features.h"
#include "core/error.h"
#include "error_of.h"
#include "eval/attention_bench.h"
#include "eval/latency.h"

namespace tc::eval {
namespace {

// A small GQA shape: 4 query heads over 2 kv heads of 16 dimensions.
model::ModelConfig tiny_config(int64_t max_positions = 4096) {
  model::ModelConfig config;
  config.hidden_size = 64;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = 16;
  config.max_position_embeddings = max_positions;
  return config;
}

TEST(AttentionBench, FlopsCountEveryVisiblePairOnce) {
  // 4·heads·head_dim per (query, key) pair the causal mask lets through.
  EXPECT_EQ(attention_flops(4, 16, 16, 16), 4 * 4 * 16 * (16 * 17 / 2));  // prefill: 136 pairs
  EXPECT_EQ(attention_flops(4, 16, 16, 1), 4 * 4 * 16 * 16);              // decode: 16 keys
  // The last 2 queries of 5 tokens see 4 + 5 keys.
  EXPECT_EQ(attention_flops(1, 1, 5, 2), 4 * 9);
  // Qwen2.5-0.5B's shape, 2048-token prefill: 7.5 GFLOP, no overflow.
  EXPECT_EQ(attention_flops(14, 64, 2048, 2048), int64_t{4} * 14 * 64 * 2048 * 2049 / 2);
}

TEST(AttentionBench, EverySlotMeasuredOrUnavailable) {
  const std::vector<int64_t> lengths = {16, 40};
  const AttentionBenchResult result =
      measure_attention_kernels(tiny_config(), {.lengths = lengths, .n_warmup = 1, .n_iters = 3});
  EXPECT_EQ(result.heads, 4);
  EXPECT_EQ(result.kv_heads, 2);
  EXPECT_EQ(result.head_dim, 16);
  EXPECT_GE(result.threads, 1);
  EXPECT_EQ(result.kv_cache, kv::KvFormat::kF32);
  EXPECT_EQ(result.lengths, lengths);

  std::vector<std::string> names;
  for (const AttentionKernelResult& kernel : result.kernels) names.push_back(kernel.name);
  EXPECT_EQ(names, (std::vector<std::string>{"naive", "tiled_online_softmax", "split_k_decode",
                                             "cuda_flash", "cuda_efficient", "cudnn_sdpa"}));
  EXPECT_EQ(names, attention_kernel_slots());

  const bool fast = cpu_has_avx2();
  for (const AttentionKernelResult& kernel : result.kernels) {
    SCOPED_TRACE(kernel.name);
    const bool gpu = kernel.name.starts_with("cu");
    if (gpu || (!fast && kernel.name != "naive")) {
      ASSERT_TRUE(kernel.unavailable);
      EXPECT_TRUE(kernel.unavailable->starts_with("unavailable: ")) << *kernel.unavailable;
      if (gpu) {
        EXPECT_NE(kernel.unavailable->find("no CUDA backend"), std::string::npos);
      }
      EXPECT_TRUE(kernel.runs.empty());
      continue;
    }
    EXPECT_FALSE(kernel.unavailable);
    EXPECT_FALSE(kernel.entry_point.empty());
    const bool decode = kernel.name == "split_k_decode";
    ASSERT_EQ(kernel.runs.size(), lengths.size());
    for (size_t i = 0; i < lengths.size(); ++i) {
      const AttentionRun& run = kernel.runs[i];
      EXPECT_EQ(run.tokens, lengths[i]);
      EXPECT_EQ(run.queries, decode ? 1 : lengths[i]);
      EXPECT_EQ(run.flops, attention_flops(4, 16, run.tokens, run.queries));
      EXPECT_EQ(run.time.n_warmup, 1);
      EXPECT_EQ(run.time.warmup_ms.size(), 1u);
      ASSERT_EQ(run.time.samples_ms.size(), 3u);
      for (const double ms : run.time.samples_ms) EXPECT_GT(ms, 0.0);
      EXPECT_DOUBLE_EQ(run.gflop_s, static_cast<double>(run.flops) / (run.time.ms.p50 * 1e6));
      if (kernel.name == "naive") {
        EXPECT_FALSE(run.max_abs_diff_vs_naive);
      } else {
        ASSERT_TRUE(run.max_abs_diff_vs_naive);
        EXPECT_LE(*run.max_abs_diff_vs_naive, 1e-5);
      }
    }
  }
}

TEST(AttentionBench, LengthsBeyondTheModelsPositionsAreLeftOut) {
  const AttentionBenchResult result = measure_attention_kernels(
      tiny_config(20), {.lengths = {8, 16, 40}, .n_warmup = 1, .n_iters = 1});
  EXPECT_EQ(result.lengths, (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(result.kernels.front().runs.size(), 2u);

  const std::string message = test::error_of(
      [] { measure_attention_kernels(tiny_config(4), {.lengths = {8}, .n_warmup = 1}); });
  EXPECT_EQ(message, "attention benchmark: no length fits max_position_embeddings 4");
}

TEST(TimeRuns, WarmupKeptApartFromTheStatistics) {
  int calls = 0;
  const TimedRuns runs = time_runs("test", 2, 3, [&] { ++calls; });
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(runs.n_warmup, 2);
  EXPECT_EQ(runs.n_iters, 3);
  EXPECT_EQ(runs.warmup_ms.size(), 2u);
  EXPECT_EQ(runs.samples_ms.size(), 3u);
  EXPECT_EQ(runs.ms.p50, percentile(runs.samples_ms, 50));
  EXPECT_EQ(test::error_of([] { time_runs("attention naive", 0, 3, [] {}); }),
            "attention naive: n_warmup must be at least 1 (got 0)");
  EXPECT_EQ(test::error_of([] { time_runs("x", 1, 0, [] {}); }),
            "x: n_iters must be at least 1 (got 0)");
}

}  // namespace
}  // namespace tc::eval
