// Speculative decoding (decode/speculative_decoder.h): its output is the
// target's greedy output, a draft that is the target is always right, and
// rejected proposals roll both KV caches back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "decode/decoder.h"
#include "decode/greedy_decoder.h"
#include "decode/speculative_decoder.h"
#include "error_of.h"
#include "eval/generation_bench.h"
#include "harness/methods.h"
#include "model/loader.h"
#include "model/random_checkpoint.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace tc {
namespace {

using test::error_of;

constexpr int64_t kMaxNewTokens = 32;

// The bundled prompts, tokenized (the fixture family shares one tokenizer).
std::vector<std::vector<int32_t>> prompt_ids() {
  const auto tokenizer = tokenizer::Tokenizer::from_model_dir(test::fixture_model("tiny-qwen2-s"));
  std::vector<std::vector<int32_t>> ids;
  for (const std::string& prompt :
       eval::read_prompts(std::string(TC_SOURCE_DIR) + "/prompts/prompts.txt")) {
    ids.push_back(tokenizer.encode(prompt));
  }
  return ids;
}

struct Comparison {
  int64_t proposed = 0, accepted = 0;
  int64_t steps_with_a_reject = 0;
};

// Generates every prompt speculatively and target-only; expects the same ids.
Comparison expect_target_greedy_output(model::Qwen2Model& target, model::Qwen2Model& draft,
                                       int64_t k) {
  Comparison totals;
  decode::SpeculativeDecoder speculative(target, draft, k);
  decode::GreedyDecoder greedy(target);
  for (const std::vector<int32_t>& prompt : prompt_ids()) {
    const decode::GenerationResult want = decode::generate(greedy, prompt, kMaxNewTokens);
    // By hand, to see each step's counts.
    std::vector<int32_t> got = speculative.prefill(prompt).tokens;
    while (static_cast<int64_t>(got.size()) < kMaxNewTokens && !speculative.is_eos(got.back())) {
      const decode::DecodeStep step = speculative.step();
      EXPECT_EQ(step.draft_proposed, k);
      EXPECT_LE(step.draft_accepted, k);
      // Accepted proposals, then the target's own token (unless an end of text cut them).
      if (!step.hit_eos) {
        EXPECT_EQ(static_cast<int64_t>(step.tokens.size()), step.draft_accepted + 1);
      }
      if (step.draft_accepted < k) ++totals.steps_with_a_reject;
      got.insert(got.end(), step.tokens.begin(), step.tokens.end());
    }
    got.resize(std::min(got.size(), want.new_ids.size()));
    EXPECT_EQ(got, want.new_ids) << "prompt of " << prompt.size() << " tokens";
    // generate() gives the same ids and the decoder's counts.
    const decode::GenerationResult generated = decode::generate(speculative, prompt, kMaxNewTokens);
    EXPECT_EQ(generated.new_ids, want.new_ids);
    totals.proposed += generated.stats.draft_tokens_proposed;
    totals.accepted += generated.stats.draft_tokens_accepted;
  }
  return totals;
}

TEST(Speculative, ADraftThatIsTheTargetIsAlwaysAccepted) {
  model::Qwen2Model target = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  model::Qwen2Model copy = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  // The same object (one set of activations for both) and a second load.
  for (model::Qwen2Model* draft : {&target, &copy}) {
    const Comparison counts = expect_target_greedy_output(target, *draft, 4);
    EXPECT_GT(counts.proposed, 0);
    EXPECT_EQ(counts.accepted, counts.proposed);
  }
}

TEST(Speculative, SmallDraftGivesTheTargetsGreedyOutputAndRejects) {
  model::Qwen2Model draft = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  for (const char* name : {"tiny-qwen2-m", "tiny-qwen2-l"}) {
    model::Qwen2Model target = model::load_qwen2(test::fixture_model(name));
    const Comparison counts = expect_target_greedy_output(target, draft, 4);
    std::printf("s -> %s: accepted %ld of %ld proposed (%.3f)\n", name,
                static_cast<long>(counts.accepted), static_cast<long>(counts.proposed),
                static_cast<double>(counts.accepted) / static_cast<double>(counts.proposed));
    // The draft is a smaller model: it is wrong sometimes (the crop path
    // runs) and right often enough to matter.
    EXPECT_GT(counts.steps_with_a_reject, 0) << name;
    EXPECT_LT(counts.accepted, counts.proposed) << name;
    EXPECT_GT(counts.accepted, counts.proposed / 4) << name;
  }
}

TEST(Speculative, OtherKGiveTheSameOutput) {
  model::Qwen2Model draft = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  model::Qwen2Model target = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  for (const int64_t k : {1, 2, 7}) expect_target_greedy_output(target, draft, k);
}

TEST(Speculative, BadKAndDifferentVocabulariesAreErrors) {
  const std::string target_dir = test::fixture_model("tiny-qwen2-m");
  model::Qwen2Model target = model::load_qwen2(target_dir);
  EXPECT_NE(error_of([&] { decode::SpeculativeDecoder(target, target, 0); }).find("k is 0"),
            std::string::npos);

  // A draft with another vocabulary (512 ids against the fixtures' 4160).
  const std::string other_dir = test::make_temp_dir() + "/other";
  model::write_random_checkpoint(other_dir, model::random_checkpoint_preset("tiny"));
  model::Qwen2Model other = model::load_qwen2(other_dir);
  ASSERT_NE(other.config().vocab_size, target.config().vocab_size);
  const std::string want = fmt::format(
      "the target model has a vocabulary of {} ids, the draft model one of 512: a draft must "
      "share its target's tokenizer",
      target.config().vocab_size);
  EXPECT_NE(error_of([&] { decode::SpeculativeDecoder(target, other, 4); }).find(want),
            std::string::npos);
  // Through the method, the error names both folders (and the draft's run_config name).
  const harness::Method& method = harness::find_method("spec_k4_cpu");
  const std::string error = error_of([&] {
    method.prepare({.model_dir = target_dir,
                    .calibration_source = "",
                    .draft_name = "other",
                    .draft_dir = other_dir});
  });
  EXPECT_NE(error.find("the target " + target_dir + " has a vocabulary"), std::string::npos)
      << error;
  EXPECT_NE(error.find("the draft other (" + other_dir + ") one of 512"), std::string::npos)
      << error;
  // Without a draft the method says how to name one.
  EXPECT_NE(error_of([&] {
              method.prepare({.model_dir = target_dir, .calibration_source = ""});
            }).find("spec_k4_cpu needs a draft model: name one with `draft = \"<model>\"`"),
            std::string::npos);
}

}  // namespace
}  // namespace tc
