// Decode speed of two decoders measured alternately in one process: the same
// model at two context lengths (how much slower a long context is), or at
// one context with two KV-cache formats (what a format's bytes buy).
//
// A decode step at a long context reads the KV cache on top of the weights,
// so it is slower; how much slower is the question. Timed in two separate
// runs, the answer mixes in whatever the machine did in between: on a shared
// VM the memory bandwidth moves by a third from one minute to the next, more
// than the difference being measured. Here both contexts live in one process
// on one model, each in its own decoder (and KV cache), and are decoded in alternating
// rounds (short then long, then long then short, ...), so
// every round's two blocks meet the same machine and the per-round ratios
// can be read on their own.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "decode/decoder.h"

namespace tc::eval {

struct ContextPairOptions {
  int64_t steps = 32;   // timed decode steps per context
  int64_t rounds = 32;  // alternations (at most one per step)
  int64_t warmup = 2;   // untimed steps per context before the first round
};

// Index 0 is the first decoder (the short context), 1 the second (the long
// context, or the other cache format).
struct ContextPairTimings {
  std::vector<int64_t> round_steps;             // timed steps of each round, per context
  std::array<std::vector<double>, 2> step_s;    // timed steps in order
  std::array<std::vector<int32_t>, 2> new_ids;  // every token produced, the prefill's included
};

// Prefills each prompt into its own decoder (untimed; two decoders of one
// model), runs `warmup` steps on each, then `rounds` rounds of timed steps
// on both, the order swapped every round. Each context decodes exactly as it
// would alone.
ContextPairTimings time_context_pair(decode::Decoder& first_decoder,
                                     decode::Decoder& second_decoder,
                                     std::span<const int32_t> first_prompt,
                                     std::span<const int32_t> second_prompt,
                                     const ContextPairOptions& options);

struct ContextPairSummary {
  std::array<double, 2> tok_s{0, 0};  // all timed steps of a decoder
  double ratio = 0;                   // second tok/s over first tok/s
  std::vector<double> round_ratios;   // the same, round by round
  double median_round_ratio = 0;
};

// tc::Error when the timings are empty or their rounds do not add up.
ContextPairSummary summarize_context_pair(const ContextPairTimings& timings);

}  // namespace tc::eval
