#include "decode/greedy.h"

#include <algorithm>

#include "core/error.h"
#include "core/timer.h"

namespace tc::decode {

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

GenerationResult generate_greedy(model::Qwen2Model& model, std::span<const int32_t> prompt_ids,
                                 int64_t max_new_tokens, std::span<const int32_t> eos_ids,
                                 model::KvFormat kv_format, GenerationProfile* profile) {
  if (prompt_ids.empty()) fail("generate: the prompt encodes to no tokens");
  GenerationResult result;
  if (max_new_tokens <= 0) return result;
  auto cache = model.new_cache(kv_format);
  const auto is_eos = [&](int32_t id) {
    return std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end();
  };

  model.set_profile(profile ? &profile->prefill : nullptr);
  Stopwatch clock;
  std::vector<float> logits = model.forward(prompt_ids, *cache);
  int32_t next = argmax(logits);
  result.prefill_seconds = clock.seconds();
  result.new_ids.push_back(next);

  model.set_profile(profile ? &profile->decode : nullptr);
  clock.restart();
  while (!is_eos(next) && static_cast<int64_t>(result.new_ids.size()) < max_new_tokens) {
    logits = model.forward(std::span<const int32_t>(&next, 1), *cache);
    next = argmax(logits);
    result.new_ids.push_back(next);
    ++result.decode_steps;
  }
  result.decode_seconds = clock.seconds();
  model.set_profile(nullptr);
  result.hit_eos = is_eos(next);
  return result;
}

}  // namespace tc::decode
