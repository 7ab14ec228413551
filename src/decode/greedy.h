// Greedy (argmax) generation with the KV cache.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/qwen2.h"

namespace tc::decode {

struct GenerationResult {
  std::vector<int32_t> new_ids;  // generated ids (an end-of-text id is included when hit)
  bool hit_eos = false;
  double prefill_seconds = 0.0;  // the prompt's forward pass, first logits included
  double decode_seconds = 0.0;   // every later one-token step
  int64_t decode_steps = 0;      // tokens produced by decode steps (new_ids.size() - 1)
};

// Per-part timings of the prompt pass and of the decode steps.
struct GenerationProfile {
  model::ForwardProfile prefill;
  model::ForwardProfile decode;
};

// Index of the largest logit; the lowest index wins ties, like torch.argmax.
int32_t argmax(std::span<const float> logits);

// Runs the prompt through the model, then picks the most likely next token
// until `max_new_tokens` or one of `eos_ids`.
GenerationResult generate_greedy(model::Qwen2Model& model, std::span<const int32_t> prompt_ids,
                                 int64_t max_new_tokens, std::span<const int32_t> eos_ids,
                                 model::KvFormat kv_format = model::KvFormat::kF32,
                                 GenerationProfile* profile = nullptr);

}  // namespace tc::decode
