#include "eval/kv_comparison.h"

#include <algorithm>

#include "decode/greedy_decoder.h"

namespace tc::eval {

namespace {

double decode_rate(const decode::DecodeStats& stats) {
  return stats.decode_seconds > 0 ? static_cast<double>(stats.decode_tokens) / stats.decode_seconds
                                  : 0.0;
}

}  // namespace

KvComparison compare_kv_formats(model::Qwen2Model& model, const tokenizer::Tokenizer& tokenizer,
                                const std::vector<std::string>& prompts, int64_t max_new_tokens,
                                model::KvFormat format, model::KvFormat baseline) {
  KvComparison out;
  decode::GreedyDecoder baseline_decoder(model, {.kv_format = baseline});
  decode::GreedyDecoder decoder(model, {.kv_format = format});
  int64_t tokens = 0, baseline_tokens = 0;
  double seconds = 0, baseline_seconds = 0;
  for (const std::string& prompt : prompts) {
    const std::vector<int32_t> ids = tokenizer.encode(prompt);
    const decode::GenerationResult want = decode::generate(baseline_decoder, ids, max_new_tokens);
    const decode::GenerationResult got = decode::generate(decoder, ids, max_new_tokens);
    const auto mismatch = std::mismatch(got.new_ids.begin(), got.new_ids.end(),
                                        want.new_ids.begin(), want.new_ids.end());
    out.per_prompt.push_back(
        {.prompt_tokens = static_cast<int64_t>(ids.size()),
         .new_tokens = static_cast<int64_t>(got.new_ids.size()),
         .identical_prefix = static_cast<int64_t>(mismatch.first - got.new_ids.begin()),
         .identical = got.new_ids == want.new_ids,
         .decode_tok_s = decode_rate(got.stats),
         .baseline_decode_tok_s = decode_rate(want.stats)});
    tokens += got.stats.decode_tokens;
    seconds += got.stats.decode_seconds;
    baseline_tokens += want.stats.decode_tokens;
    baseline_seconds += want.stats.decode_seconds;
  }
  out.decode_tok_s = seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0;
  out.baseline_decode_tok_s =
      baseline_seconds > 0 ? static_cast<double>(baseline_tokens) / baseline_seconds : 0.0;
  return out;
}

}  // namespace tc::eval
