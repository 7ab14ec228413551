#include "decode/speculative_decoder.h"

#include "core/error.h"
#include "decode/greedy_decoder.h"

namespace tc::decode {

void check_same_vocabulary(const model::Qwen2Model& target, const std::string& target_name,
                           const model::Qwen2Model& draft, const std::string& draft_name) {
  const int64_t target_vocab = target.config().vocab_size;
  const int64_t draft_vocab = draft.config().vocab_size;
  if (target_vocab != draft_vocab) {
    fail(
        "speculative decoding: {} has a vocabulary of {} ids, {} one of {}: a draft must share "
        "its target's tokenizer",
        target_name, target_vocab, draft_name, draft_vocab);
  }
}

SpeculativeDecoder::SpeculativeDecoder(model::Qwen2Model& target, model::Qwen2Model& draft,
                                       int64_t k, const DecoderOptions& options)
    : Decoder(target.config().eos_token_ids),
      target_(target),
      draft_(draft),
      k_(k),
      options_(options) {
  if (k < 1) fail("speculative decoding: k is {}, expected 1 or more draft tokens a step", k);
  check_same_vocabulary(target, "the target model", draft, "the draft model");
}

DecodeStep SpeculativeDecoder::run_prefill(std::span<const int32_t> prompt) {
  target_cache_ = target_.new_cache(options_.kv_format);
  draft_cache_ = draft_.new_cache(options_.kv_format);
  GenerationProfile* profile = options_.profile;
  // The profile is attached for the target's pass only (see GreedyDecoder).
  target_.set_profile(profile ? &profile->prefill : nullptr);
  const int32_t first = argmax(target_.forward(prompt, *target_cache_));
  target_.set_profile(nullptr);
  draft_.forward(prompt, *draft_cache_, model::LogitsFor::kNone);
  sequence_.assign(prompt.begin(), prompt.end());
  sequence_.push_back(first);
  return {.tokens = {first}};
}

std::vector<int32_t> SpeculativeDecoder::propose() {
  // The draft's first pass takes every token it has not seen: the newest,
  // and after a step that accepted all k, also its own last proposal (which
  // it produced but never ran).
  const auto unseen =
      std::span<const int32_t>(sequence_).subspan(static_cast<size_t>(draft_cache_->length()));
  std::vector<int32_t> proposals = {argmax(draft_.forward(unseen, *draft_cache_))};
  while (static_cast<int64_t>(proposals.size()) < k_) {
    proposals.push_back(argmax(draft_.forward(std::span(proposals).last(1), *draft_cache_)));
  }
  return proposals;
}

DecodeStep SpeculativeDecoder::run_step() {
  const std::vector<int32_t> proposals = propose();
  // One target pass over the newest token and the k proposals: row i holds
  // the target's choice after the newest token and proposals 1..i.
  std::vector<int32_t> verify = {sequence_.back()};
  verify.insert(verify.end(), proposals.begin(), proposals.end());
  const int64_t verified_from = target_cache_->length();
  GenerationProfile* profile = options_.profile;
  target_.set_profile(profile ? &profile->decode : nullptr);
  const std::vector<float> logits =
      target_.forward(verify, *target_cache_, model::LogitsFor::kAllTokens);
  target_.set_profile(nullptr);

  const auto vocab = static_cast<size_t>(target_.config().vocab_size);
  const auto choice = [&](size_t row) {
    return argmax(std::span<const float>(logits).subspan(row * vocab, vocab));
  };
  DecodeStep step;
  step.draft_proposed = k_;
  size_t accepted = 0;
  int32_t next = choice(0);
  while (accepted < proposals.size() && next == proposals[accepted]) {
    step.tokens.push_back(next);
    ++accepted;
    next = choice(accepted);
  }
  step.tokens.push_back(next);  // the target's own token: a correction or the bonus
  step.draft_accepted = static_cast<int64_t>(accepted);

  // Keep what the accepted tokens wrote: the newest and the accepted
  // proposals in the target's cache; in the draft's, at most that much (it
  // never ran its last proposal).
  const int64_t kept = verified_from + 1 + static_cast<int64_t>(accepted);
  target_cache_->crop(kept);
  if (draft_cache_->length() > kept) draft_cache_->crop(kept);
  sequence_.insert(sequence_.end(), step.tokens.begin(), step.tokens.end());
  return step;
}

const model::KvCache& SpeculativeDecoder::kv_cache() const {
  if (!target_cache_) fail("SpeculativeDecoder::kv_cache before the first prefill");
  return *target_cache_;
}

}  // namespace tc::decode
