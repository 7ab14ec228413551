#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"

namespace tc::eval {

namespace {
// Most bytes of logits one batch of windows may produce (0.5B-size vocabularies
// have 151936 columns, so a batch there holds only a few windows).
constexpr int64_t kMaxBatchLogitsBytes = int64_t{256} << 20;
}  // namespace

std::optional<model::KvFormat> perplexity_kv_cache(model::KvFormat format) {
  if (format == model::KvFormat::kF32) return std::nullopt;
  return format;
}

int64_t count_windows(int64_t n_tokens, int64_t max_length, int64_t stride) {
  int64_t windows = 0;
  for (int64_t begin = 0; begin < n_tokens; begin += stride) {
    ++windows;
    if (begin + max_length >= n_tokens) break;
  }
  return windows;
}

double token_nll(std::span<const float> logits, int32_t target) {
  float max_logit = -INFINITY;
  for (float value : logits) max_logit = std::max(max_logit, value);
  // Each term exp(l - max) <= 1 is computed in float (its relative error,
  // ~1e-7, is far below what perplexity resolves); the sum over the
  // vocabulary is kept in double.
  double sum = 0.0;
  for (float value : logits) sum += double(std::exp(value - max_logit));
  return std::log(sum) + double(max_logit) - double(logits[static_cast<size_t>(target)]);
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

  // The windows of the definition: tokens [begin, end) scoring targets
  // first_target .. end-1.
  struct Window {
    int64_t begin, end, first_target;
    int64_t length() const { return end - begin; }
    int64_t first_row() const { return first_target - 1 - begin; }
  };
  std::vector<Window> windows;
  int64_t previous_end = 0;
  for (int64_t begin = 0; begin < n; begin += options.stride) {
    const int64_t end = std::min(begin + options.max_length, n);
    // Targets previous_end .. end-1, but never the window's own first token.
    windows.push_back({begin, end, std::max(previous_end, begin + 1)});
    previous_end = end;
    if (end == n) break;
  }

  Stopwatch clock;
  const std::unique_ptr<model::KvCache> cache =
      options.kv_cache ? model.new_cache(*options.kv_cache) : nullptr;
  std::vector<int32_t> batch_ids;
  std::vector<double> row_nll;
  for (size_t first = 0; first < windows.size();) {
    // Consecutive windows with the same length and scoring offset share a
    // batch; through a cache, each window is a batch of its own.
    const Window& lead = windows[first];
    const int64_t rows_per_window = lead.length() - lead.first_row();
    const int64_t by_tokens = std::max<int64_t>(1, options.batch_tokens / lead.length());
    const int64_t by_logits = std::max<int64_t>(
        1, kMaxBatchLogitsBytes / (rows_per_window * vocab * int64_t{sizeof(float)}));
    size_t last = first + 1;
    while (!cache && last < windows.size() && static_cast<int64_t>(last - first) < by_tokens &&
           static_cast<int64_t>(last - first) < by_logits &&
           windows[last].length() == lead.length() &&
           windows[last].first_row() == lead.first_row()) {
      ++last;
    }
    batch_ids.clear();
    for (size_t w = first; w < last; ++w) {
      batch_ids.insert(batch_ids.end(), ids.begin() + windows[w].begin,
                       ids.begin() + windows[w].end);
    }
    // Rows first_row .. length-1 of every window of the batch.
    std::vector<float> logits;
    if (cache) {
      // One window, on an emptied cache. forward gives every row's logits;
      // the rows before first_row are dropped (the lm_head computed them in
      // vain: the price of taking generation's path unchanged).
      cache->crop(0);
      logits = model.forward(batch_ids, *cache, model::LogitsFor::kAllTokens);
      logits.erase(logits.begin(), logits.begin() + lead.first_row() * vocab);
    } else {
      logits =
          model.forward_windows(batch_ids, static_cast<int64_t>(last - first), lead.first_row());
    }

    // Targets of every window of the batch, rows in parallel, summed in order
    // afterwards (the same total on any number of threads). Row
    // rows_per_window - 1 of a window predicts past its end and is skipped.
    const int64_t targets_per_window = lead.end - lead.first_target;
    row_nll.assign(static_cast<size_t>(targets_per_window) * (last - first), 0.0);
    ThreadPool::global().parallel_for(row_nll.size(), 8, [&](size_t begin_row, size_t end_row) {
      for (size_t i = begin_row; i < end_row; ++i) {
        const size_t w = i / static_cast<size_t>(targets_per_window);
        const size_t target = i % static_cast<size_t>(targets_per_window);
        const size_t row = w * static_cast<size_t>(rows_per_window) + target;
        row_nll[i] =
            token_nll(std::span<const float>(logits.data() + row * static_cast<size_t>(vocab),
                                             static_cast<size_t>(vocab)),
                      ids[static_cast<size_t>(windows[first + w].first_target) + target]);
      }
    });
    for (const double nll : row_nll) result.nll_sum += nll;
    result.scored_tokens += static_cast<int64_t>(row_nll.size());
    result.windows += static_cast<int64_t>(last - first);
    if (options.progress) options.progress(result.windows, total_windows);
    first = last;
  }
  result.ppl = std::exp(result.nll_sum / static_cast<double>(result.scored_tokens));
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tc::eval
