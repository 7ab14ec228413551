#include "eval/context_pair.h"

#include <algorithm>

#include "core/error.h"
#include "core/timer.h"
#include "decode/greedy.h"
#include "eval/latency.h"

namespace tc::eval {

namespace {

// One context: its cache, the logits of its last step and what it fed.
struct Context {
  std::unique_ptr<model::KvCache> cache;
  std::vector<float> logits;
  std::vector<int32_t>* fed = nullptr;

  // One greedy step; returns its seconds.
  double step(model::Qwen2Model& model) {
    const int32_t next = decode::argmax(logits);
    fed->push_back(next);
    Stopwatch clock;
    logits = model.forward(std::span<const int32_t>(&next, 1), *cache);
    return clock.seconds();
  }
};

}  // namespace

ContextPairTimings time_context_pair(model::Qwen2Model& model,
                                     std::span<const int32_t> short_prompt,
                                     std::span<const int32_t> long_prompt,
                                     const ContextPairOptions& options) {
  if (short_prompt.empty() || long_prompt.empty()) fail("context pair: a prompt is empty");
  if (options.steps < 1 || options.rounds < 1 || options.warmup < 0) {
    fail("context pair: bad counts (steps {}, rounds {}, warm-up {})", options.steps,
         options.rounds, options.warmup);
  }
  ContextPairTimings timings;
  timings.round_steps = split_evenly(options.steps, options.rounds);
  std::array<Context, 2> contexts;
  const std::array<std::span<const int32_t>, 2> prompts{short_prompt, long_prompt};
  for (size_t c = 0; c < 2; ++c) {
    contexts[c].cache = model.new_cache(options.kv_format);
    contexts[c].logits = model.forward(prompts[c], *contexts[c].cache);
    contexts[c].fed = &timings.fed_ids[c];
  }
  for (int64_t step = 0; step < options.warmup; ++step) {
    for (Context& context : contexts) context.step(model);
  }
  for (size_t round = 0; round < timings.round_steps.size(); ++round) {
    // Short first in even rounds, long first in odd ones: a drift of the
    // machine within a round favours neither context over the run.
    for (size_t turn = 0; turn < 2; ++turn) {
      const size_t c = round % 2 == 0 ? turn : 1 - turn;
      for (int64_t step = 0; step < timings.round_steps[round]; ++step) {
        timings.step_s[c].push_back(contexts[c].step(model));
      }
    }
  }
  for (size_t c = 0; c < 2; ++c) timings.final_length[c] = contexts[c].cache->length();
  return timings;
}

ContextPairSummary summarize_context_pair(const ContextPairTimings& timings) {
  int64_t steps = 0;
  for (int64_t s : timings.round_steps) steps += s;
  if (steps == 0) fail("context pair: no timed steps to summarize");
  for (size_t c = 0; c < 2; ++c) {
    if (static_cast<int64_t>(timings.step_s[c].size()) != steps) {
      fail("context pair: {} timed steps for context {}, the rounds hold {}",
           timings.step_s[c].size(), c, steps);
    }
  }
  ContextPairSummary summary;
  std::array<double, 2> total{0, 0};
  size_t first = 0;
  for (int64_t round_steps : timings.round_steps) {
    std::array<double, 2> seconds{0, 0};
    for (size_t c = 0; c < 2; ++c) {
      for (size_t i = first; i < first + static_cast<size_t>(round_steps); ++i) {
        seconds[c] += timings.step_s[c][i];
      }
      total[c] += seconds[c];
    }
    first += static_cast<size_t>(round_steps);
    // Same steps on both sides: the tok/s ratio is the inverse time ratio.
    summary.round_ratios.push_back(seconds[0] / seconds[1]);
  }
  for (size_t c = 0; c < 2; ++c) summary.tok_s[c] = static_cast<double>(steps) / total[c];
  summary.ratio = summary.tok_s[1] / summary.tok_s[0];
  summary.median_round_ratio = percentile(summary.round_ratios, 50);
  return summary;
}

}  // namespace tc::eval
