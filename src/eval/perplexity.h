// Sliding-window perplexity, exactly as the goldens define it
// (shared/fixtures/README.md, and transformers' perplexity guide):
// windows of at most `max_length` tokens start at 0, stride, 2·stride, ...;
// each window scores only the tokens no earlier window scored, each predicted
// from every earlier token inside the window; the first token of the text is
// never scored; the loop stops after the window that reaches the end.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "model/qwen2.h"

namespace tc::eval {

struct PerplexityOptions {
  int64_t max_length = 256;
  int64_t stride = 128;
  // Windows of equal length and scoring offset run together through one
  // forward pass (every matmul sees all of them) of at most this many tokens;
  // the logits of a batch are also capped at kMaxBatchLogitsBytes. 0 or a
  // value below max_length runs one window at a time. The result does not
  // depend on it beyond float summation order inside the kernels.
  int64_t batch_tokens = 2048;
  // The KV cache each window runs through. None (the default): no cache,
  // windows batched as above. A format: each window alone is prefilled into
  // a cache of that format with Qwen2Model::forward, the path generation
  // takes, so the format's rounding of keys and values shows in the result
  // (batch_tokens is then unused). perplexity_kv_cache says which a method
  // measures with.
  std::optional<model::KvFormat> kv_cache = std::nullopt;
  // Called after each window with (windows done, windows in all).
  std::function<void(int64_t, int64_t)> progress;
};

struct PerplexityResult {
  double ppl = 0.0;
  double nll_sum = 0.0;  // natural-log negative log-likelihood, summed
  int64_t scored_tokens = 0;
  int64_t windows = 0;
  double seconds = 0.0;
};

// The cache a method whose KV cache is `format` measures perplexity through:
// none for f32, a cache of `format` otherwise. An f32 cache stores keys and
// values exactly, so through it the perplexity is the cache-free one (up to
// float summation order; tests/perplexity_test.cc), and the cache-free path
// batches windows.
std::optional<model::KvFormat> perplexity_kv_cache(model::KvFormat format);

// Number of windows the definition above gives for n tokens.
int64_t count_windows(int64_t n_tokens, int64_t max_length, int64_t stride);

PerplexityResult sliding_window_perplexity(model::Qwen2Model& model, std::span<const int32_t> ids,
                                           const PerplexityOptions& options);

// -log softmax(logits)[target], computed in double.
double token_nll(std::span<const float> logits, int32_t target);

}  // namespace tc::eval
