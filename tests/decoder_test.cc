// The decoder interface (decode/decoder.h): GreedyDecoder's steps are the
// model's forward passes and argmax by hand, and generate() keeps a step's
// tokens up to the limit and the end of text, whatever a step produces.
#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "decode/decoder.h"
#include "decode/greedy_decoder.h"
#include "error_of.h"
#include "harness/methods.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

using test::error_of;

const std::vector<int32_t> kPrompt = {438, 470, 304, 263, 470, 872, 1168, 13};

// Greedy ids by hand: the prompt's forward pass, then one token at a time
// through the same cache, each the argmax of the logits before.
std::vector<int32_t> greedy_by_hand(model::Qwen2Model& model, model::KvFormat format,
                                    size_t count) {
  auto cache = model.new_cache(format);
  std::vector<int32_t> ids = {decode::argmax(model.forward(kPrompt, *cache))};
  while (ids.size() < count) {
    ids.push_back(decode::argmax(model.forward(std::span(ids).last(1), *cache)));
  }
  return ids;
}

TEST(Decoder, ArgmaxTakesTheLowestIndexOfATie) {
  EXPECT_EQ(decode::argmax(std::vector<float>{1.0f, 3.0f, -2.0f, 3.0f}), 1);
  EXPECT_EQ(decode::argmax(std::vector<float>{-5.0f}), 0);
}

TEST(Decoder, GreedyStepsArePrefillAndStepsByHand) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  constexpr size_t kTokens = 9;
  for (const auto format : {model::KvFormat::kF32, model::KvFormat::kF16}) {
    const std::vector<int32_t> want = greedy_by_hand(model, format, kTokens);
    decode::GreedyDecoder decoder(model, {.kv_format = format});
    // Twice: a second prefill starts over in a fresh cache.
    for (int run = 0; run < 2; ++run) {
      const decode::DecodeStep first = decoder.prefill(kPrompt);
      ASSERT_EQ(first.tokens, std::vector<int32_t>{want[0]});
      EXPECT_GT(first.seconds, 0.0);
      double step_seconds = 0;
      for (size_t i = 1; i < kTokens; ++i) {
        const decode::DecodeStep step = decoder.step();
        EXPECT_EQ(step.tokens, std::vector<int32_t>{want[i]})
            << model::kv_format_name(format) << " step " << i;
        EXPECT_EQ(step.draft_proposed, 0);
        EXPECT_EQ(step.draft_accepted, 0);
        step_seconds += step.seconds;
      }
      const decode::DecodeStats& stats = decoder.stats();
      EXPECT_EQ(stats.prompt_tokens, static_cast<int64_t>(kPrompt.size()));
      EXPECT_EQ(stats.prefill_seconds, first.seconds);
      EXPECT_EQ(stats.decode_steps, static_cast<int64_t>(kTokens - 1));
      EXPECT_EQ(stats.decode_tokens, static_cast<int64_t>(kTokens - 1));
      EXPECT_DOUBLE_EQ(stats.decode_seconds, step_seconds);
      EXPECT_EQ(stats.draft_tokens_proposed, 0);
      EXPECT_EQ(stats.draft_tokens_accepted, 0);
    }
    // generate() is the same steps.
    const decode::GenerationResult result =
        decode::generate(decoder, kPrompt, static_cast<int64_t>(kTokens));
    EXPECT_EQ(result.new_ids, want);
  }
}

TEST(Decoder, GenerateProfilesPrefillAndDecodeApart) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  decode::GenerationProfile profile;
  decode::GreedyDecoder decoder(model, {.profile = &profile});
  // Few enough tokens that the tiny model cannot reach its end of text first.
  const decode::GenerationResult result = decode::generate(decoder, kPrompt, 3);
  ASSERT_FALSE(result.hit_eos);
  EXPECT_EQ(profile.prefill.calls, 1);
  EXPECT_EQ(profile.decode.calls, 2);
  EXPECT_GT(profile.decode.total(), 0.0);
}

TEST(Decoder, StepBeforePrefillAndAnEmptyPromptAreErrors) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  decode::GreedyDecoder decoder(model);
  EXPECT_NE(error_of([&] { decoder.step(); }).find("before prefill"), std::string::npos);
  EXPECT_NE(error_of([&] { decoder.prefill({}); }).find("no tokens"), std::string::npos);
}

// A decoder that produces scripted steps of several tokens with draft
// counts, as a speculative decoder would: for generate()'s bookkeeping.
class ScriptedDecoder final : public decode::Decoder {
 public:
  explicit ScriptedDecoder(std::deque<std::vector<int32_t>> steps)
      : Decoder({kEos}), script_(std::move(steps)) {}
  static constexpr int32_t kEos = 99;
  const model::KvCache& kv_cache() const override { fail("a scripted decoder has no KV cache"); }

 private:
  decode::DecodeStep next() {
    decode::DecodeStep step{.tokens = script_.front()};
    script_.pop_front();
    step.draft_proposed = 3;
    step.draft_accepted = static_cast<int64_t>(step.tokens.size()) - 1;
    return step;
  }
  decode::DecodeStep run_prefill(std::span<const int32_t>) override { return {.tokens = {1}}; }
  decode::DecodeStep run_step() override { return next(); }
  std::deque<std::vector<int32_t>> script_;
};

TEST(Decoder, GenerateEndsAtTheEndOfTextInsideAStep) {
  ScriptedDecoder decoder({{2, 3, 4, 5}, {6, ScriptedDecoder::kEos, 7}, {8}});
  const decode::GenerationResult result = decode::generate(decoder, kPrompt, 20);
  // The token after the end of text is dropped, and no step runs after it.
  EXPECT_EQ(result.new_ids, (std::vector<int32_t>{1, 2, 3, 4, 5, 6, ScriptedDecoder::kEos}));
  EXPECT_TRUE(result.hit_eos);
  EXPECT_EQ(result.stats.decode_steps, 2);
  EXPECT_EQ(result.stats.decode_tokens, 6);
  EXPECT_EQ(result.stats.draft_tokens_proposed, 6);
  // The draft counts are the decoder's: what the target accepted, before
  // the cut at the end of text.
  EXPECT_EQ(result.stats.draft_tokens_accepted, 3 + 2);
  // The step API goes on past the end of text (bench times steps regardless).
  const decode::DecodeStep after = decoder.step();
  EXPECT_EQ(after.tokens, std::vector<int32_t>{8});
  EXPECT_FALSE(after.hit_eos);
}

TEST(Decoder, GenerateKeepsAStepsTokensUpToTheLimit) {
  ScriptedDecoder decoder({{2, 3, 4}, {5, 6, 7}});
  const decode::GenerationResult result = decode::generate(decoder, kPrompt, 6);
  EXPECT_EQ(result.new_ids, (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_FALSE(result.hit_eos);
  EXPECT_EQ(result.stats.decode_tokens, 6);  // what the decoder produced, 7 included
  EXPECT_TRUE(decode::generate(decoder, kPrompt, 0).new_ids.empty());
}

TEST(Decoder, MethodsDecodeGreedilyWithTheirPreparedModel) {
  const harness::Method& method = harness::find_method("bf16_cpu");
  const harness::PreparedModel prepared = method.prepare({test::fixture_model("tiny-qwen2-s"), ""});
  EXPECT_EQ(prepared.draft, nullptr);
  const auto decoder = method.make_decoder(prepared, {});
  const decode::GenerationResult result = decode::generate(*decoder, kPrompt, 6);
  EXPECT_EQ(result.new_ids,
            greedy_by_hand(*prepared.model, model::KvFormat::kF32, result.new_ids.size()));
  EXPECT_EQ(result.new_ids.size(), 6u);
}

}  // namespace
}  // namespace tc
