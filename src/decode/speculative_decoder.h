// Speculative decoding (greedy): a small draft model proposes K tokens one at
// a time, the target model checks them all in one forward pass over K+1
// positions, and the sequence keeps the longest prefix the target agrees
// with plus the target's own next token. The output is the target's greedy
// output (up to ties between the one-pass and one-token logits, see
// docs/METHODS.md); what changes is how many target passes it takes.
//
// A verify pass of K+1 tokens reads each target weight once (the GEMM family
// takes up to 8 rows per pass), so it costs about one decode step: every
// accepted draft token saves a target pass.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "model/kv_cache.h"
#include "model/qwen2.h"

namespace tc::decode {

// tc::Error naming both models (as the names say, e.g. "target tiny-qwen2-m
// (path)") when their vocabularies differ: draft ids would mean other tokens
// to the target.
void check_same_vocabulary(const model::Qwen2Model& target, const std::string& target_name,
                           const model::Qwen2Model& draft, const std::string& draft_name);

// Draft `k` tokens, verify them on the target, keep the agreed prefix.
// Target and draft may be one model object (every proposal is accepted);
// both must outlive the decoder. Stops at the target's end-of-text ids.
//
// Counts: a step reports draft_proposed = k and draft_accepted = the
// accepted prefix, as the decoder did the work; tokens the base class cuts
// after an end-of-text id, or generate() beyond max_new_tokens, are still
// counted (the rate measures how often the draft agrees, not what is kept).
class SpeculativeDecoder final : public Decoder {
 public:
  // tc::Error when k < 1 or the vocabularies differ.
  SpeculativeDecoder(model::Qwen2Model& target, model::Qwen2Model& draft, int64_t k,
                     const DecoderOptions& options = {});
  const model::KvCache& kv_cache() const override;
  int64_t k() const { return k_; }

 private:
  DecodeStep run_prefill(std::span<const int32_t> prompt) override;
  DecodeStep run_step() override;
  // The draft's k proposals after the newest token.
  std::vector<int32_t> propose();

  model::Qwen2Model& target_;
  model::Qwen2Model& draft_;
  int64_t k_;
  DecoderOptions options_;
  std::unique_ptr<model::KvCache> target_cache_;
  std::unique_ptr<model::KvCache> draft_cache_;
  // The prompt and every token produced. The target's cache holds all but
  // the last (the newest, the next pass's first input); the draft's cache
  // holds a prefix of it, which propose() catches up.
  std::vector<int32_t> sequence_;
};

}  // namespace tc::decode
