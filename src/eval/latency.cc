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

TimedRuns time_runs(std::string_view what, int64_t n_warmup, int64_t n_iters,
                    const std::function<void()>& run) {
  if (n_warmup < 1) fail("{}: n_warmup must be at least 1 (got {})", what, n_warmup);
  if (n_iters < 1) fail("{}: n_iters must be at least 1 (got {})", what, n_iters);
  TimedRuns runs;
  runs.n_warmup = n_warmup;
  runs.n_iters = n_iters;
  for (int64_t i = 0; i < n_warmup + n_iters; ++i) {
    Stopwatch clock;
    run();
    const double ms = clock.milliseconds();
    (i < n_warmup ? runs.warmup_ms : runs.samples_ms).push_back(ms);
  }
  runs.ms = summarize(runs.samples_ms);
  return runs;
}

LatencyResult measure_forward_latency(model::Qwen2Model& model, std::span<const int32_t> ids,
                                      model::KvFormat kv_format, int64_t n_warmup,
                                      int64_t n_iters) {
  if (ids.empty()) fail("latency: no input tokens");
  auto cache = model.new_cache(kv_format);
  LatencyResult result;
  static_cast<TimedRuns&>(result) = time_runs("latency", n_warmup, n_iters, [&] {
    cache->crop(0);
    const std::vector<float> logits = model.forward(ids, *cache, model::LogitsFor::kAllTokens);
  });
  result.seq_len = static_cast<int64_t>(ids.size());
  return result;
}

}  // namespace tc::eval
