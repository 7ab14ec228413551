#include "harness/speculative_row.h"

#include <vector>

#include "core/error.h"
#include "decode/decoder.h"
#include "decode/greedy_decoder.h"
#include "decode/speculative_decoder.h"

namespace tc::harness {

namespace {

double seconds_of(const decode::GenerationResult& run) {
  return run.stats.prefill_seconds + run.stats.decode_seconds;
}

double rate(double count, double seconds) { return seconds > 0 ? count / seconds : 0; }

}  // namespace

SpeculativeRecord measure_speculative(const RowInputs& inputs, int64_t k) {
  const PreparedModel& prepared = inputs.prepared;
  if (!prepared.draft) fail("speculative row: the method prepared no draft model");
  decode::SpeculativeDecoder speculative(*prepared.model, *prepared.draft, k);
  decode::GreedyDecoder target_only(*prepared.model);
  const int64_t max_new_tokens = inputs.settings.max_new_tokens;

  SpeculativeRecord record;
  record.draft = prepared.draft_name;
  record.k = k;
  for (const std::string& prompt : inputs.prompts) {
    const std::vector<int32_t> ids = inputs.tokenizer.encode(prompt);
    // Speculative first, target-only second, prompt by prompt: both meet
    // the machine in the same state, and the models are warm from the
    // generation measurement that ran before.
    const decode::GenerationResult spec = decode::generate(speculative, ids, max_new_tokens);
    const decode::GenerationResult alone = decode::generate(target_only, ids, max_new_tokens);
    const SpeculativePromptRecord entry{
        .prompt_tokens = static_cast<int64_t>(ids.size()),
        .new_tokens = static_cast<int64_t>(spec.new_ids.size()),
        .target_only_new_tokens = static_cast<int64_t>(alone.new_ids.size()),
        .proposed = spec.stats.draft_tokens_proposed,
        .accepted = spec.stats.draft_tokens_accepted,
        .spec_seconds = seconds_of(spec),
        .target_only_seconds = seconds_of(alone),
        .ids_identical = spec.new_ids == alone.new_ids};
    record.proposed += entry.proposed;
    record.accepted += entry.accepted;
    record.new_tokens += entry.new_tokens;
    record.target_only_new_tokens += entry.target_only_new_tokens;
    record.spec_seconds += entry.spec_seconds;
    record.target_only_seconds += entry.target_only_seconds;
    record.per_prompt.push_back(entry);
  }
  record.accept_rate = record.proposed > 0 ? static_cast<double>(record.accepted) /
                                                 static_cast<double>(record.proposed)
                                           : 0.0;
  record.spec_tok_s = rate(static_cast<double>(record.new_tokens), record.spec_seconds);
  record.target_only_tok_s =
      rate(static_cast<double>(record.target_only_new_tokens), record.target_only_seconds);
  record.wallclock_speedup = rate(record.target_only_seconds, record.spec_seconds);
  return record;
}

}  // namespace tc::harness
