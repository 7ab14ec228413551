// The KV-cache probe: its analytic sizes, the rungs it can reach, and the
// cache's own byte count against the analytic size on a real model.
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/kv_probe.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc::eval {
namespace {

TEST(KvProbe, AnalyticBytesPerTokenFollowTheFormatsDefinition) {
  model::ModelConfig config;  // tiny-qwen2-s's cache shape
  config.num_layers = 4;
  config.num_kv_heads = 2;
  config.head_dim = 32;
  // 4 layers × (key, value) × 2 kv heads × 32 dims = 512 elements a token.
  EXPECT_EQ(analytic_kv_bytes_per_token(config, model::KvFormat::kF32), 2048);
  EXPECT_EQ(analytic_kv_bytes_per_token(config, model::KvFormat::kF16), 1024);
  // int8: one byte each, plus an fp16 scale per layer, key/value and kv head.
  EXPECT_EQ(analytic_kv_bytes_per_token(config, model::KvFormat::kI8), 512 + 4 * 2 * 2 * 2);
  // Qwen2.5-0.5B (24 layers, 2 kv heads of 64): int8 is 0.516 of f16.
  config.num_layers = 24;
  config.head_dim = 64;
  EXPECT_EQ(analytic_kv_bytes_per_token(config, model::KvFormat::kF16), 12288);
  EXPECT_EQ(analytic_kv_bytes_per_token(config, model::KvFormat::kI8), 6336);
}

TEST(KvProbe, RungsPastThePromptAndWithinThePositionLimit) {
  const std::vector<int64_t> ladder = {128, 256, 512, 1024, 2048, 4096};
  EXPECT_EQ(reachable_rungs(ladder, 10, 32768, 32), ladder);
  // The window's steps must fit too: 4096 + 32 > 4100.
  EXPECT_EQ(reachable_rungs(ladder, 10, 4100, 32),
            (std::vector<int64_t>{128, 256, 512, 1024, 2048}));
  EXPECT_EQ(reachable_rungs(ladder, 300, 32768, 32), (std::vector<int64_t>{512, 1024, 2048, 4096}));
}

TEST(KvProbe, TheCacheCountsTheAnalyticBytesAtEveryRung) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  const std::vector<int32_t> prompt = {438, 470, 304};
  int64_t reported = 0;
  // 40 and 70: partial blocks of KV tiles, so the allocation exceeds what is held.
  const std::vector<KvProbeRung> rungs = probe_kv_cache(
      model, prompt,
      {.ladder = {2, 40, 70},
       .formats = {model::KvFormat::kF32, model::KvFormat::kF16, model::KvFormat::kI8},
       .window = 4,
       .progress = [&](int64_t done, int64_t total) {
         EXPECT_EQ(total, 6);
         reported = done;
       }});
  EXPECT_EQ(reported, 6);
  ASSERT_EQ(rungs.size(), 6u) << "the 2-token rung lies inside the prompt";
  const model::KvFormat formats[] = {model::KvFormat::kF32, model::KvFormat::kF16,
                                     model::KvFormat::kI8};
  for (size_t i = 0; i < rungs.size(); ++i) {
    const KvProbeRung& rung = rungs[i];
    SCOPED_TRACE("rung " + std::to_string(i));
    EXPECT_EQ(rung.format, formats[i / 2]);
    EXPECT_EQ(rung.tokens, i % 2 == 0 ? 40 : 70);
    EXPECT_EQ(rung.analytic_bytes_per_token,
              analytic_kv_bytes_per_token(model.config(), rung.format));
    EXPECT_EQ(rung.analytic_bytes, rung.analytic_bytes_per_token * rung.tokens);
    EXPECT_EQ(rung.measured_bytes, rung.analytic_bytes);
    EXPECT_GT(rung.allocated_bytes, rung.measured_bytes);
    EXPECT_GT(rung.decode_tok_s, 0.0);
  }
  EXPECT_THROW(
      probe_kv_cache(
          model, {},
          {.ladder = {8}, .formats = {model::KvFormat::kF32}, .window = 4, .progress = nullptr}),
      Error);
}

}  // namespace
}  // namespace tc::eval
