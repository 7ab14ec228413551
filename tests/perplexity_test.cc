// Sliding-window perplexity against transformers' value on the kdoc test split.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "eval/perplexity.h"
#include "golden_reader.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

std::vector<int32_t> read_test_ids() {
  const std::string path = test::shared_dir() + "/fixtures/tokenizer/test_ids.i32";
  std::ifstream file(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<int32_t> ids(bytes.size() / 4);
  std::memcpy(ids.data(), bytes.data(), ids.size() * 4);
  return ids;
}

TEST(Perplexity, WindowCountFollowsTheDefinition) {
  EXPECT_EQ(eval::count_windows(163709, 256, 128), 1278);
  EXPECT_EQ(eval::count_windows(256, 256, 128), 1);
  EXPECT_EQ(eval::count_windows(257, 256, 128), 2);
  EXPECT_EQ(eval::count_windows(10, 4, 4), 3);
}

TEST(Perplexity, TokenNllIsLogSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  const double expected =
      -std::log(std::exp(2.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  // Each exp term is computed in float (relative error ~6e-8), summed in double.
  EXPECT_NEAR(eval::token_nll(logits, 1), expected, 1e-7 * expected);
}

// Batching windows through one forward pass changes only float summation
// order: on the first 5000 tokens (39 windows; the last one short), batches
// of 1, 3 and 8 windows and a stride that does not divide the window agree
// with one window at a time.
TEST(Perplexity, BatchedWindowsMatchOneAtATime) {
  const std::vector<int32_t> all = read_test_ids();
  const std::span<const int32_t> ids(all.data(), 5000);
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  for (const int64_t stride : {128, 100}) {
    eval::PerplexityOptions options{
        .max_length = 256, .stride = stride, .batch_tokens = 0, .progress = {}};
    const eval::PerplexityResult single = eval::sliding_window_perplexity(model, ids, options);
    for (const int64_t batch : {3 * 256, 8 * 256}) {
      options.batch_tokens = batch;
      const eval::PerplexityResult batched = eval::sliding_window_perplexity(model, ids, options);
      EXPECT_EQ(batched.windows, single.windows);
      EXPECT_EQ(batched.scored_tokens, single.scored_tokens);
      EXPECT_NEAR(batched.nll_sum / single.nll_sum, 1.0, 1e-9) << "stride " << stride;
    }
  }
}

// Each window through a KV cache (prefilled with forward, as generation
// does): with an f32 cache the perplexity is the cache-free one (float
// summation order aside), with fp16 keys and values it moves a little. On
// the first 3000 tokens (23 windows, the last one short).
TEST(Perplexity, ThroughTheKvCache) {
  const std::vector<int32_t> all = read_test_ids();
  const std::span<const int32_t> ids(all.data(), 3000);
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  eval::PerplexityOptions options{.max_length = 256, .stride = 128, .progress = {}};
  const eval::PerplexityResult cache_free = eval::sliding_window_perplexity(model, ids, options);
  options.kv_cache = model::KvFormat::kF32;
  const eval::PerplexityResult f32 = eval::sliding_window_perplexity(model, ids, options);
  options.kv_cache = model::KvFormat::kF16;
  const eval::PerplexityResult f16 = eval::sliding_window_perplexity(model, ids, options);
  std::printf("[tiny-qwen2-m, 3000 tokens] ppl cache-free %.9f, f32 cache %.9f, f16 cache %.9f\n",
              cache_free.ppl, f32.ppl, f16.ppl);
  for (const eval::PerplexityResult* through_cache : {&f32, &f16}) {
    EXPECT_EQ(through_cache->windows, cache_free.windows);
    EXPECT_EQ(through_cache->scored_tokens, cache_free.scored_tokens);
  }
  EXPECT_EQ(cache_free.windows, 23);
  EXPECT_NEAR(f32.nll_sum / cache_free.nll_sum, 1.0, 1e-9);
  EXPECT_NE(f16.nll_sum, cache_free.nll_sum);
  EXPECT_NEAR(f16.ppl / cache_free.ppl, 1.0, 1e-4);

  // What a method measures with: its own format, except f32 (cache-free).
  EXPECT_EQ(eval::perplexity_kv_cache(model::KvFormat::kF32), std::nullopt);
  EXPECT_EQ(eval::perplexity_kv_cache(model::KvFormat::kF16), model::KvFormat::kF16);
}

// The small model over the whole test split (1278 windows of 256 tokens).
TEST(Perplexity, SmallModelMatchesTransformersOnTestSplit) {
  const nlohmann::json golden =
      test::read_json(test::golden_dir("tiny-qwen2-s") + "/golden.json")["ppl_test_fp32"];
  const std::vector<int32_t> ids = read_test_ids();
  ASSERT_EQ(static_cast<int64_t>(ids.size()), golden["n_tokens"].get<int64_t>());
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  const eval::PerplexityResult result = eval::sliding_window_perplexity(
      model, ids, {.max_length = golden["max_length"], .stride = golden["stride"], .progress = {}});
  EXPECT_EQ(result.windows, golden["windows"].get<int64_t>());
  EXPECT_EQ(result.scored_tokens, golden["scored_tokens"].get<int64_t>());
  EXPECT_NEAR(result.ppl / golden["ppl"].get<double>(), 1.0, 1e-4);
  EXPECT_NEAR(result.nll_sum / golden["nll_sum"].get<double>(), 1.0, 1e-4);
  std::printf("[tiny-qwen2-s] ppl %.6f (golden %.6f), %.1f s\n", result.ppl,
              golden["ppl"].get<double>(), result.seconds);
}

}  // namespace
}  // namespace tc
