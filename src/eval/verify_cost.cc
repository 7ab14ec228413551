#include "eval/verify_cost.h"

#include "core/error.h"
#include "core/timer.h"

namespace tc::eval {

namespace {

// One pass from the prompt's context, then back to it.
double timed_pass(model::Qwen2Model& model, model::KvCache& cache, std::span<const int32_t> tokens,
                  model::LogitsFor logits) {
  const int64_t context = cache.length();
  Stopwatch clock;
  model.forward(tokens, cache, logits);
  const double seconds = clock.seconds();
  cache.crop(context);
  return seconds;
}

}  // namespace

VerifyCostTimings time_verify_cost(model::Qwen2Model& model, std::span<const int32_t> prompt,
                                   std::span<const int32_t> verify, int64_t rounds,
                                   model::KvFormat format) {
  if (prompt.empty() || verify.empty())
    fail("verify cost: the prompt or the verify tokens are empty");
  if (rounds < 1) fail("verify cost: {} rounds, expected 1 or more", rounds);
  const auto cache = model.new_cache(format);
  model.forward(prompt, *cache, model::LogitsFor::kNone);
  VerifyCostTimings timings;
  timings.context = cache->length();
  timings.verify_tokens = static_cast<int64_t>(verify.size());
  const auto step = verify.first(1);
  for (int64_t round = -1; round < rounds; ++round) {  // round -1: warm-up, untimed
    // Verify first in even rounds, the step first in odd ones: a drift of
    // the machine within a round favours neither.
    const bool verify_first = round % 2 == 0;
    double verify_s = 0, step_s = 0;
    if (verify_first) verify_s = timed_pass(model, *cache, verify, model::LogitsFor::kAllTokens);
    step_s = timed_pass(model, *cache, step, model::LogitsFor::kLastToken);
    if (!verify_first) verify_s = timed_pass(model, *cache, verify, model::LogitsFor::kAllTokens);
    if (round < 0) continue;
    timings.verify_s.push_back(verify_s);
    timings.step_s.push_back(step_s);
  }
  return timings;
}

VerifyCostSummary summarize_verify_cost(const VerifyCostTimings& timings) {
  if (timings.verify_s.empty() || timings.step_s.empty()) {
    fail("verify cost: no timed passes to summarize");
  }
  VerifyCostSummary summary{.verify_s = summarize(timings.verify_s),
                            .step_s = summarize(timings.step_s)};
  summary.ratio = summary.verify_s.p50 / summary.step_s.p50;
  return summary;
}

}  // namespace tc::eval
