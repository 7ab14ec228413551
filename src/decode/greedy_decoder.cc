#include "decode/greedy_decoder.h"

#include <algorithm>

#include "core/error.h"

namespace tc::decode {

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

GreedyDecoder::GreedyDecoder(model::Qwen2Model& model, const DecoderOptions& options)
    : Decoder(model.config().eos_token_ids), model_(model), options_(options) {}

int32_t GreedyDecoder::forward_and_pick(std::span<const int32_t> tokens,
                                        model::ForwardProfile* profile) {
  // The profile is attached for this pass only: the model is shared (bench
  // runs two decoders on one model) and must not keep a pointer to it.
  model_.set_profile(profile);
  newest_ = argmax(model_.forward(tokens, *cache_));
  model_.set_profile(nullptr);
  return newest_;
}

DecodeStep GreedyDecoder::run_prefill(std::span<const int32_t> prompt) {
  cache_ = model_.new_cache(options_.kv_format);
  GenerationProfile* profile = options_.profile;
  return {.tokens = {forward_and_pick(prompt, profile ? &profile->prefill : nullptr)}};
}

DecodeStep GreedyDecoder::run_step() {
  GenerationProfile* profile = options_.profile;
  const int32_t input = newest_;
  return {.tokens = {forward_and_pick(std::span<const int32_t>(&input, 1),
                                      profile ? &profile->decode : nullptr)}};
}

const model::KvCache& GreedyDecoder::kv_cache() const {
  if (!cache_) fail("GreedyDecoder::kv_cache before the first prefill");
  return *cache_;
}

}  // namespace tc::decode
