// Decode at two contexts, alternated in one process (eval/context_pair.h).
#include <gtest/gtest.h>

#include <vector>

#include "decode/greedy_decoder.h"
#include "error_of.h"
#include "eval/context_pair.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

using test::error_of;

std::vector<int32_t> prompt_of(int64_t length) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < length; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 11) % 1000));
  return ids;
}

TEST(ContextPair, AlternatedRoundsDecodeEachContextAsAlone) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  const std::vector<int32_t> short_prompt = prompt_of(5), long_prompt = prompt_of(30);
  eval::ContextPairOptions options;
  options.steps = 7;
  options.rounds = 3;
  options.warmup = 2;
  decode::GreedyDecoder short_decoder(model), long_decoder(model);
  const eval::ContextPairTimings timings =
      eval::time_context_pair(short_decoder, long_decoder, short_prompt, long_prompt, options);

  EXPECT_EQ(timings.round_steps, (std::vector<int64_t>{3, 2, 2}));
  const std::vector<std::vector<int32_t>> prompts = {short_prompt, long_prompt};
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(timings.step_s[c].size(), 7u) << c;
    for (double seconds : timings.step_s[c]) EXPECT_GT(seconds, 0.0);
    // The prefill's token, then one per warm-up and timed step, as one
    // decoder on its own gives them.
    decode::GreedyDecoder alone(model);
    std::vector<int32_t> want = alone.prefill(prompts[c]).tokens;
    for (int step = 0; step < 9; ++step) want.push_back(alone.step().tokens.at(0));
    EXPECT_EQ(timings.new_ids[c], want) << "context " << c;
  }
  // The two contexts continue differently (so the check above can tell a
  // swapped cache).
  EXPECT_NE(timings.new_ids[0], timings.new_ids[1]);
}

TEST(ContextPair, RatiosAreLongOverShortTokensPerSecond) {
  eval::ContextPairTimings timings;
  timings.round_steps = {2, 1};
  timings.step_s[0] = {1.0, 1.0, 2.0};  // rounds: 2 s, then 2 s
  timings.step_s[1] = {2.0, 2.0, 2.0};  // rounds: 4 s, then 2 s
  const eval::ContextPairSummary summary = eval::summarize_context_pair(timings);
  EXPECT_DOUBLE_EQ(summary.tok_s[0], 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(summary.tok_s[1], 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(summary.ratio, 4.0 / 6.0);
  EXPECT_EQ(summary.round_ratios, (std::vector<double>{0.5, 1.0}));
  EXPECT_DOUBLE_EQ(summary.median_round_ratio, 0.75);
}

TEST(ContextPair, BadCountsAreNamed) {
  eval::ContextPairTimings timings;
  EXPECT_NE(error_of([&] { eval::summarize_context_pair(timings); }).find("no timed steps"),
            std::string::npos);
  timings.round_steps = {2};
  timings.step_s[0] = {1.0, 1.0};
  timings.step_s[1] = {1.0};
  EXPECT_NE(error_of([&] {
              eval::summarize_context_pair(timings);
            }).find("1 timed steps for context 1, the rounds hold 2"),
            std::string::npos);

  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  decode::GreedyDecoder short_decoder(model), long_decoder(model);
  eval::ContextPairOptions options;
  options.rounds = 0;
  EXPECT_NE(error_of([&] {
              eval::time_context_pair(short_decoder, long_decoder, prompt_of(3), prompt_of(6),
                                      options);
            }).find("rounds 0"),
            std::string::npos);
}

}  // namespace
}  // namespace tc
