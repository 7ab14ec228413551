// What a speculative verify pass costs: a forward of n tokens through the
// KV cache (logits for every one, as the verifier needs) against one decode
// step, both from the same context, timed alternately in one process.
//
// Decode is bound by reading the weights; a pass over n tokens reads each
// weight once for all of them (the GEMM family takes up to 8 rows a pass),
// so it should cost little more than one step. If it cost n steps,
// speculative decoding could never be faster than the target alone.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eval/latency.h"
#include "model/kv_cache.h"
#include "model/qwen2.h"

namespace tc::eval {

struct VerifyCostTimings {
  int64_t context = 0;           // cache length every timed pass starts from
  int64_t verify_tokens = 0;     // tokens of a verify pass
  std::vector<double> verify_s;  // timed verify passes, in order
  std::vector<double> step_s;    // timed decode steps, in order
};

// Prefills `prompt` into a fresh cache of `format`, then runs `rounds`
// rounds of one verify pass (`verify` in one forward, logits for all) and
// one decode step (verify[0] alone), each cropped back to the prompt so
// both always start from the same context; the order swaps every round,
// after one untimed round. tc::Error for an empty prompt or verify span,
// or rounds < 1.
VerifyCostTimings time_verify_cost(model::Qwen2Model& model, std::span<const int32_t> prompt,
                                   std::span<const int32_t> verify, int64_t rounds,
                                   model::KvFormat format);

struct VerifyCostSummary {
  SampleStats verify_s;  // of the timed verify passes (p50 the median)
  SampleStats step_s;    // of the timed decode steps
  double ratio = 0;      // verify_s.p50 / step_s.p50
};

VerifyCostSummary summarize_verify_cost(const VerifyCostTimings& timings);

}  // namespace tc::eval
