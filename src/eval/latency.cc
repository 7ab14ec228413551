#include "eval/latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/timer.h"

namespace tc::eval {

double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) fail("percentile of no samples");
  std::sort(samples.begin(), samples.end());
  const double position = q / 100.0 * static_cast<double>(samples.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, samples.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return samples[below] + (samples[above] - samples[below]) * fraction;
}

std::vector<int64_t> split_evenly(int64_t count, int64_t parts) {
  parts = std::min(parts, count);
  std::vector<int64_t> sizes;
  for (int64_t p = 0; p < parts; ++p) sizes.push_back(count / parts + (p < count % parts ? 1 : 0));
  return sizes;
}

SampleStats summarize(const std::vector<double>& samples) {
  if (samples.empty()) fail("no samples to summarize");
  SampleStats stats;
  stats.mean =
      std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  stats.p50 = percentile(samples, 50);
  stats.p90 = percentile(samples, 90);
  stats.p99 = percentile(samples, 99);
  stats.min = *std::min_element(samples.begin(), samples.end());
  stats.max = *std::max_element(samples.begin(), samples.end());
  return stats;
}

LatencyResult measure_forward_latency(model::Qwen2Model& model, std::span<const int32_t> ids,
                                      model::KvFormat kv_format, int64_t n_warmup,
                                      int64_t n_iters) {
  if (n_warmup < 1) fail("latency: n_warmup must be at least 1 (got {})", n_warmup);
  if (n_iters < 1) fail("latency: n_iters must be at least 1 (got {})", n_iters);
  if (ids.empty()) fail("latency: no input tokens");
  LatencyResult result;
  result.seq_len = static_cast<int64_t>(ids.size());
  result.n_warmup = n_warmup;
  result.n_iters = n_iters;
  auto cache = model.new_cache(kv_format);
  for (int64_t i = 0; i < n_warmup + n_iters; ++i) {
    cache->crop(0);
    Stopwatch clock;
    const std::vector<float> logits = model.forward(ids, *cache, model::LogitsFor::kAllTokens);
    const double ms = clock.milliseconds();
    (i < n_warmup ? result.warmup_ms : result.samples_ms).push_back(ms);
  }
  result.ms = summarize(result.samples_ms);
  return result;
}

}  // namespace tc::eval
