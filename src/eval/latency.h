// Forward latency at a fixed sequence length: warm-up iterations are run and
// discarded, then every timed iteration is kept so percentiles (and the
// audit) can be recomputed from the raw samples.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "model/qwen2.h"

namespace tc::eval {

struct SampleStats {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};

// Percentile with linear interpolation between order statistics (numpy's default).
double percentile(std::vector<double> samples, double q);
SampleStats summarize(const std::vector<double>& samples);

// `count` items in `parts` nearly equal runs (at most one per item, so never
// an empty run), the longer runs first: timed steps split into parts or rounds.
std::vector<int64_t> split_evenly(int64_t count, int64_t parts);

// Iterations of one timed operation: the warm-up ones run first and are
// kept apart, the statistics come from the timed ones only.
struct TimedRuns {
  int64_t n_warmup = 0;
  int64_t n_iters = 0;
  std::vector<double> warmup_ms;   // discarded
  std::vector<double> samples_ms;  // timed
  SampleStats ms;                  // from samples_ms only
};

// Calls `run` n_warmup + n_iters times, timing each call on its own. Throws
// tc::Error naming `what` unless n_warmup >= 1 and n_iters >= 1.
TimedRuns time_runs(std::string_view what, int64_t n_warmup, int64_t n_iters,
                    const std::function<void()>& run);

struct LatencyResult : TimedRuns {
  int64_t seq_len = 0;
};

// Times `n_warmup + n_iters` forward passes over `ids` (all positions'
// logits), each into an emptied KV cache of `kv_format`.
LatencyResult measure_forward_latency(model::Qwen2Model& model, std::span<const int32_t> ids,
                                      model::KvFormat kv_format, int64_t n_warmup, int64_t n_iters);

}  // namespace tc::eval
