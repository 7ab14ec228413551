#include "eval/generation_bench.h"

#include <fstream>

#include "core/error.h"
#include "decode/greedy.h"

namespace tc::eval {

std::vector<std::string> read_prompts(const std::string& path) {
  std::ifstream file(path);
  if (!file) fail("{}: cannot open prompts file", path);
  std::vector<std::string> prompts;
  for (std::string line; std::getline(file, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) prompts.push_back(line);
  }
  if (prompts.empty()) fail("{}: no prompts (one prompt per non-empty line)", path);
  return prompts;
}

GenerationBenchResult measure_generation(model::Qwen2Model& model,
                                         const tokenizer::Tokenizer& tokenizer,
                                         const std::vector<std::string>& prompts,
                                         int64_t max_new_tokens, model::KvFormat kv_format) {
  GenerationBenchResult result;
  int64_t prompt_tokens = 0, decode_steps = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  for (const std::string& prompt : prompts) {
    const std::vector<int32_t> ids = tokenizer.encode(prompt);
    const decode::GenerationResult run =
        decode::generate_greedy(model, ids, max_new_tokens, model.config().eos_token_ids, kv_format);
    PromptTiming timing;
    timing.prompt_tokens = static_cast<int64_t>(ids.size());
    timing.new_tokens = static_cast<int64_t>(run.new_ids.size());
    timing.prefill_seconds = run.prefill_seconds;
    timing.decode_seconds = run.decode_seconds;
    timing.decode_steps = run.decode_steps;
    result.per_prompt.push_back(timing);
    result.new_tokens += timing.new_tokens;
    prompt_tokens += timing.prompt_tokens;
    decode_steps += timing.decode_steps;
    prefill_seconds += timing.prefill_seconds;
    decode_seconds += timing.decode_seconds;
  }
  result.seconds = prefill_seconds + decode_seconds;
  result.tok_s = result.seconds > 0 ? static_cast<double>(result.new_tokens) / result.seconds : 0;
  result.prefill_tok_s =
      prefill_seconds > 0 ? static_cast<double>(prompt_tokens) / prefill_seconds : 0;
  result.decode_tok_s = decode_seconds > 0 ? static_cast<double>(decode_steps) / decode_seconds : 0;
  return result;
}

}  // namespace tc::eval
