#include "eval/context_pair.h"

#include <algorithm>

#include "core/error.h"
#include "eval/latency.h"

namespace tc::eval {

namespace {

// One step of a context's decoder; keeps its tokens and returns its seconds.
double step(decode::Decoder& decoder, std::vector<int32_t>& new_ids) {
  const decode::DecodeStep produced = decoder.step();
  new_ids.insert(new_ids.end(), produced.tokens.begin(), produced.tokens.end());
  return produced.seconds;
}

}  // namespace

ContextPairTimings time_context_pair(decode::Decoder& first_decoder,
                                     decode::Decoder& second_decoder,
                                     std::span<const int32_t> first_prompt,
                                     std::span<const int32_t> second_prompt,
                                     const ContextPairOptions& options) {
  if (first_prompt.empty() || second_prompt.empty()) fail("context pair: a prompt is empty");
  if (options.steps < 1 || options.rounds < 1 || options.warmup < 0) {
    fail("context pair: bad counts (steps {}, rounds {}, warm-up {})", options.steps,
         options.rounds, options.warmup);
  }
  ContextPairTimings timings;
  timings.round_steps = split_evenly(options.steps, options.rounds);
  const std::array<decode::Decoder*, 2> decoders{&first_decoder, &second_decoder};
  const std::array<std::span<const int32_t>, 2> prompts{first_prompt, second_prompt};
  for (size_t c = 0; c < 2; ++c) timings.new_ids[c] = decoders[c]->prefill(prompts[c]).tokens;
  for (int64_t warmup_step = 0; warmup_step < options.warmup; ++warmup_step) {
    for (size_t c = 0; c < 2; ++c) step(*decoders[c], timings.new_ids[c]);
  }
  for (size_t round = 0; round < timings.round_steps.size(); ++round) {
    // The first decoder first in even rounds, the second in odd ones: a
    // drift of the machine within a round favours neither over the run.
    for (size_t turn = 0; turn < 2; ++turn) {
      const size_t c = round % 2 == 0 ? turn : 1 - turn;
      for (int64_t timed_step = 0; timed_step < timings.round_steps[round]; ++timed_step) {
        timings.step_s[c].push_back(step(*decoders[c], timings.new_ids[c]));
      }
    }
  }
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
