#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/timer.h"

namespace tc::eval {

int64_t count_windows(int64_t n_tokens, int64_t max_length, int64_t stride) {
  int64_t windows = 0;
  for (int64_t begin = 0; begin < n_tokens; begin += stride) {
    ++windows;
    if (begin + max_length >= n_tokens) break;
  }
  return windows;
}

double token_nll(std::span<const float> logits, int32_t target) {
  double max_logit = -INFINITY;
  for (float value : logits) max_logit = std::max(max_logit, double(value));
  double sum = 0.0;
  for (float value : logits) sum += std::exp(double(value) - max_logit);
  return std::log(sum) + max_logit - double(logits[static_cast<size_t>(target)]);
}

PerplexityResult sliding_window_perplexity(model::Qwen2Model& model, std::span<const int32_t> ids,
                                           const PerplexityOptions& options) {
  if (options.max_length < 2) fail("perplexity: max_length must be at least 2");
  if (options.stride < 1 || options.stride > options.max_length) {
    fail("perplexity: stride must be between 1 and max_length ({}), got {}", options.max_length,
         options.stride);
  }
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n < 2) fail("perplexity: the text has {} tokens; at least 2 are needed", n);

  PerplexityResult result;
  const int64_t total_windows = count_windows(n, options.max_length, options.stride);
  const int64_t vocab = model.config().vocab_size;
  auto cache = model.new_cache();
  Stopwatch clock;
  int64_t previous_end = 0;
  for (int64_t begin = 0; begin < n; begin += options.stride) {
    const int64_t end = std::min(begin + options.max_length, n);
    // Targets previous_end .. end-1, but never the window's own first token.
    const int64_t first_target = std::max(previous_end, begin + 1);
    cache->crop(0);
    const std::vector<float> logits = model.forward_logits_from(
        ids.subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin)), *cache,
        first_target - 1 - begin);
    for (int64_t target = first_target; target < end; ++target) {
      const int64_t row = target - first_target;
      result.nll_sum +=
          token_nll(std::span<const float>(logits.data() + row * vocab, static_cast<size_t>(vocab)),
                    ids[static_cast<size_t>(target)]);
      ++result.scored_tokens;
    }
    ++result.windows;
    if (options.progress) options.progress(result.windows, total_windows);
    previous_end = end;
    if (end == n) break;
  }
  result.ppl = std::exp(result.nll_sum / static_cast<double>(result.scored_tokens));
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tc::eval
