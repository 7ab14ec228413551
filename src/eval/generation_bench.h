// Greedy generation speed over a prompts file (one prompt per line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "tokenizer/tokenizer.h"

namespace tc::eval {

struct PromptTiming {
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int64_t decode_tokens = 0;  // produced by the decode steps (one a step when greedy)
};

struct GenerationBenchResult {
  std::vector<PromptTiming> per_prompt;
  int64_t new_tokens = 0;
  double seconds = 0;        // prefill + decode over all prompts
  double tok_s = 0;          // new tokens / seconds
  double prefill_tok_s = 0;  // prompt tokens / prefill seconds
  double decode_tok_s = 0;   // decode tokens / decode seconds
  // Over all prompts; 0 for a decoder without a draft model.
  int64_t draft_tokens_proposed = 0;
  int64_t draft_tokens_accepted = 0;
};

// Non-empty lines of a prompts file; tc::Error naming the file if it is
// missing or holds no prompt.
std::vector<std::string> read_prompts(const std::string& path);

// Each prompt through decode::generate with `decoder` (the method's).
GenerationBenchResult measure_generation(decode::Decoder& decoder,
                                         const tokenizer::Tokenizer& tokenizer,
                                         const std::vector<std::string>& prompts,
                                         int64_t max_new_tokens);

}  // namespace tc::eval
