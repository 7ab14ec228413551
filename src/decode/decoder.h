// One interface for every way of producing tokens from a model: greedy today,
// speculative (a draft model proposing, the target verifying) later.
//
// A decoder owns its KV cache(s) and runs one sequence at a time: prefill()
// starts a sequence from a prompt, then each step() extends it. A step
// returns the tokens it produced: one for greedy decoding, up to K+1 for a
// speculative decoder that proposed K draft tokens. Callers that only want a
// continuation use generate(); callers that time the steps themselves
// (`bench`, between its bandwidth probes) call prefill() and step().
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "model/kv_cache.h"
#include "model/qwen2.h"

namespace tc::decode {

// Per-part timings of the prompt pass and of the decode steps.
struct GenerationProfile {
  model::ForwardProfile prefill;
  model::ForwardProfile decode;
};

// How a decoder runs; every decoder honours every field.
struct DecoderOptions {
  model::KvFormat kv_format = model::KvFormat::kF32;
  // When set, the forward passes add their per-part timings here (the
  // target model's, for a decoder with a draft).
  GenerationProfile* profile = nullptr;
};

// What one prefill or step produced.
struct DecodeStep {
  // The new tokens, in order; never empty. An end-of-text id ends them:
  // tokens a decoder produced after one are dropped.
  std::vector<int32_t> tokens;
  bool hit_eos = false;        // the last token is an end-of-text id
  int64_t draft_proposed = 0;  // draft tokens proposed in this step (0 without a draft)
  int64_t draft_accepted = 0;  // of those, the ones the target confirmed (before any cut)
  double seconds = 0;          // wall time of the step, token choice included
};

// Totals since the last prefill.
struct DecodeStats {
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0;  // the prompt's forward pass(es), first token included
  int64_t decode_steps = 0;    // step() calls
  int64_t decode_tokens = 0;   // tokens the steps produced
  double decode_seconds = 0;   // all steps
  int64_t draft_tokens_proposed = 0;
  int64_t draft_tokens_accepted = 0;
};

class Decoder {
 public:
  explicit Decoder(std::vector<int32_t> eos_ids) : eos_ids_(std::move(eos_ids)) {}
  virtual ~Decoder() = default;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Starts a new sequence (fresh KV caches): runs the prompt and returns the
  // first new token(s). tc::Error when the prompt is empty.
  DecodeStep prefill(std::span<const int32_t> prompt);
  // Extends the sequence by one step. Also after an end-of-text token: the
  // model then continues past it (bench times steps regardless of content).
  // tc::Error before the first prefill.
  DecodeStep step();

  const DecodeStats& stats() const { return stats_; }
  bool is_eos(int32_t id) const;
  // The KV cache the (target) model attends over, for what a step reads
  // from it; tc::Error before the first prefill.
  virtual const model::KvCache& kv_cache() const = 0;

 protected:
  // The decoder's own work: the tokens and the draft counts. The seconds,
  // hit_eos and the statistics are the public functions' above.
  virtual DecodeStep run_prefill(std::span<const int32_t> prompt) = 0;
  virtual DecodeStep run_step() = 0;

 private:
  // tc::Error when the step produced no token; otherwise cuts it after its
  // first end-of-text id and sets hit_eos.
  void finish(DecodeStep& step) const;

  std::vector<int32_t> eos_ids_;
  DecodeStats stats_;
  bool prefilled_ = false;
};

struct GenerationResult {
  std::vector<int32_t> new_ids;  // generated ids (an end-of-text id is included when hit)
  bool hit_eos = false;
  DecodeStats stats;
};

// Prefills `prompt`, then steps until `max_new_tokens` ids or an end-of-text
// id (a step's tokens beyond the limit are not returned).
GenerationResult generate(Decoder& decoder, std::span<const int32_t> prompt,
                          int64_t max_new_tokens);

}  // namespace tc::decode
