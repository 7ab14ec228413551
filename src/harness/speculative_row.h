// The speculative row's own measurement (Method::measure_row of spec_k*):
// each prompt decoded speculatively, then by the target alone, in the same
// process and with the same settings, into the result's `speculative`
// section (docs/RESULTS_SCHEMA.md).
#pragma once

#include <cstdint>

#include "harness/methods.h"
#include "harness/result_record.h"

namespace tc::harness {

// Speculative decoding with `k` draft tokens a step (inputs.prepared's
// draft and model, fp32 KV caches) against decode::GreedyDecoder on the
// same target, prompt by prompt, max_new_tokens each.
SpeculativeRecord measure_speculative(const RowInputs& inputs, int64_t k);

}  // namespace tc::harness
