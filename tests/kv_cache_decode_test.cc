// Decoding through the KV cache gives the logits of a full forward pass, also
// after rolling the cache back (what speculative decoding relies on).
#include <gtest/gtest.h>

#include "core/error.h"
#include "golden_reader.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

TEST(KvCacheDecode, IncrementalEqualsFullForwardAndCropRewinds) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  const std::vector<int32_t> ids = {438, 470, 304, 263, 470, 872, 1168, 13, 220, 411};
  const int64_t vocab = model.config().vocab_size;

  auto full_cache = model.new_cache();
  const std::vector<float> full = model.forward(ids, *full_cache, model::LogitsFor::kAllTokens);

  // Prefill 4 tokens, then one token at a time.
  auto cache = model.new_cache();
  std::vector<float> step = model.forward(std::span(ids).first(4), *cache);
  for (size_t t = 4; t < ids.size(); ++t) {
    step = model.forward(std::span(ids).subspan(t, 1), *cache);
    const std::vector<float> want(full.begin() + static_cast<int64_t>(t) * vocab,
                                  full.begin() + static_cast<int64_t>(t + 1) * vocab);
    EXPECT_LT(test::max_abs_diff(step, want), 1e-4) << "position " << t;
  }

  // Roll back to 6 tokens, feed a different token, then the original again.
  cache->crop(6);
  model.forward(std::span<const int32_t>({7}), *cache);
  cache->crop(6);
  step = model.forward(std::span(ids).subspan(6, 1), *cache);
  const std::vector<float> want(full.begin() + 6 * vocab, full.begin() + 7 * vocab);
  EXPECT_LT(test::max_abs_diff(step, want), 1e-4);

  // fp16 storage of keys and values: close, not equal.
  auto half_cache = model.new_cache(model::KvFormat::kF16);
  const std::vector<float> half = model.forward(ids, *half_cache, model::LogitsFor::kAllTokens);
  EXPECT_LT(test::max_abs_diff(half, full), 5e-2);
  EXPECT_GT(test::max_abs_diff(half, full), 0.0);

  // Decode over the fp16 cache reads the halves in place
  // (attention_decode); prefill widens them. The first four keys and values
  // are those of the all-tokens pass above (written by it, then the cache
  // cropped to 4), so both see the same halves there, and one token at a
  // time matches that pass.
  auto half_steps = model.new_cache(model::KvFormat::kF16);
  model.forward(ids, *half_steps, model::LogitsFor::kAllTokens);
  half_steps->crop(4);
  for (size_t t = 4; t < ids.size(); ++t) {
    step = model.forward(std::span(ids).subspan(t, 1), *half_steps);
    const std::vector<float> want_half(half.begin() + static_cast<int64_t>(t) * vocab,
                                       half.begin() + static_cast<int64_t>(t + 1) * vocab);
    EXPECT_LT(test::max_abs_diff(step, want_half), 1e-4) << "position " << t;
  }
}

TEST(KvCacheDecode, RejectsIdsOutsideTheVocabulary) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  auto cache = model.new_cache();
  const std::vector<int32_t> ids = {1, 4160};
  EXPECT_THROW(model.forward(ids, *cache), Error);
}

}  // namespace
}  // namespace tc
