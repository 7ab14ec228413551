// Greedy generation speed over a prompts file (one prompt per line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/qwen2.h"
#include "tokenizer/tokenizer.h"

namespace tc::eval {

struct PromptTiming {
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int64_t decode_steps = 0;
};

struct GenerationBenchResult {
  std::vector<PromptTiming> per_prompt;
  int64_t new_tokens = 0;
  double seconds = 0;        // prefill + decode over all prompts
  double tok_s = 0;          // new tokens / seconds
  double prefill_tok_s = 0;  // prompt tokens / prefill seconds
  double decode_tok_s = 0;   // decode steps / decode seconds
};

// Non-empty lines of a prompts file; tc::Error naming the file if it is
// missing or holds no prompt.
std::vector<std::string> read_prompts(const std::string& path);

// Greedy generation of each prompt with a KV cache of `kv_format`.
GenerationBenchResult measure_generation(model::Qwen2Model& model,
                                         const tokenizer::Tokenizer& tokenizer,
                                         const std::vector<std::string>& prompts,
                                         int64_t max_new_tokens, model::KvFormat kv_format);

}  // namespace tc::eval
