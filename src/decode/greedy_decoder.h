// Greedy decoding: each step feeds the newest token through the model and
// its KV cache and picks the most likely next one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "decode/decoder.h"
#include "model/kv_cache.h"
#include "model/qwen2.h"

namespace tc::decode {

// Index of the largest logit; the lowest index wins ties, like torch.argmax.
int32_t argmax(std::span<const float> logits);

// One token a step, on one model (which must outlive the decoder). Stops at
// the model's end-of-text ids (config().eos_token_ids).
class GreedyDecoder final : public Decoder {
 public:
  explicit GreedyDecoder(model::Qwen2Model& model, const DecoderOptions& options = {});
  const model::KvCache& kv_cache() const override;

 private:
  DecodeStep run_prefill(std::span<const int32_t> prompt) override;
  DecodeStep run_step() override;
  // Runs `tokens` through the model into the cache and picks the next token.
  int32_t forward_and_pick(std::span<const int32_t> tokens, model::ForwardProfile* profile);

  model::Qwen2Model& model_;
  DecoderOptions options_;
  std::unique_ptr<model::KvCache> cache_;
  int32_t newest_ = 0;  // the last token produced: the next step's input
};

}  // namespace tc::decode
