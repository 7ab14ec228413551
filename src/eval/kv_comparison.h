// One KV-cache format against another on the same model, in the same
// process: greedy generation of every prompt with each (alternating, so
// drift hits both alike), its decode speed and how long the ids agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/kv_cache.h"
#include "model/qwen2.h"
#include "tokenizer/tokenizer.h"

namespace tc::eval {

struct KvComparisonPrompt {
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;        // generated with `format`
  int64_t identical_prefix = 0;  // leading ids equal to the baseline's
  bool identical = false;        // the whole generation equal to the baseline's
  double decode_tok_s = 0;
  double baseline_decode_tok_s = 0;
};

struct KvComparison {
  std::vector<KvComparisonPrompt> per_prompt;
  double decode_tok_s = 0;  // decode tokens / decode seconds over all prompts
  double baseline_decode_tok_s = 0;
};

// Each prompt generated greedily (up to max_new_tokens or end-of-text) with
// a `baseline` cache, then with a `format` cache.
KvComparison compare_kv_formats(model::Qwen2Model& model, const tokenizer::Tokenizer& tokenizer,
                                const std::vector<std::string>& prompts, int64_t max_new_tokens,
                                model::KvFormat format, model::KvFormat baseline);

}  // namespace tc::eval
