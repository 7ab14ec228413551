#include "decode/decoder.h"

#include <algorithm>

#include "core/error.h"
#include "core/timer.h"

namespace tc::decode {

bool Decoder::is_eos(int32_t id) const {
  return std::find(eos_ids_.begin(), eos_ids_.end(), id) != eos_ids_.end();
}

void Decoder::finish(DecodeStep& step) const {
  if (step.tokens.empty()) fail("decode: a step produced no token");
  const auto eos = std::find_if(step.tokens.begin(), step.tokens.end(),
                                [this](int32_t id) { return is_eos(id); });
  step.hit_eos = eos != step.tokens.end();
  if (step.hit_eos) step.tokens.erase(eos + 1, step.tokens.end());
}

DecodeStep Decoder::prefill(std::span<const int32_t> prompt) {
  if (prompt.empty()) fail("generate: the prompt encodes to no tokens");
  stats_ = DecodeStats{};
  stats_.prompt_tokens = static_cast<int64_t>(prompt.size());
  Stopwatch clock;
  DecodeStep step = run_prefill(prompt);
  step.seconds = clock.seconds();
  finish(step);
  stats_.prefill_seconds = step.seconds;
  stats_.draft_tokens_proposed += step.draft_proposed;
  stats_.draft_tokens_accepted += step.draft_accepted;
  prefilled_ = true;
  return step;
}

DecodeStep Decoder::step() {
  if (!prefilled_) fail("decode: step() before prefill()");
  Stopwatch clock;
  DecodeStep step = run_step();
  step.seconds = clock.seconds();
  finish(step);
  ++stats_.decode_steps;
  stats_.decode_tokens += static_cast<int64_t>(step.tokens.size());
  stats_.decode_seconds += step.seconds;
  stats_.draft_tokens_proposed += step.draft_proposed;
  stats_.draft_tokens_accepted += step.draft_accepted;
  return step;
}

GenerationResult generate(Decoder& decoder, std::span<const int32_t> prompt,
                          int64_t max_new_tokens) {
  if (prompt.empty()) fail("generate: the prompt encodes to no tokens");
  GenerationResult result;
  if (max_new_tokens <= 0) return result;
  const auto keep = [&](const DecodeStep& step) {
    for (int32_t id : step.tokens) {
      if (static_cast<int64_t>(result.new_ids.size()) == max_new_tokens) break;
      result.new_ids.push_back(id);
    }
    result.hit_eos = decoder.is_eos(result.new_ids.back());
  };
  keep(decoder.prefill(prompt));
  while (!result.hit_eos && static_cast<int64_t>(result.new_ids.size()) < max_new_tokens) {
    keep(decoder.step());
  }
  result.stats = decoder.stats();
  return result;
}

}  // namespace tc::decode
