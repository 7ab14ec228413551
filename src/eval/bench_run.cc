#include "eval/bench_run.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "eval/latency.h"

namespace tc::eval {

int64_t bench_decode_positions(const BenchRunOptions& options) {
  const auto parts = static_cast<int64_t>(split_evenly(options.gen, options.decode_parts).size());
  return options.decode_warmup + options.gen + (parts - 1) * options.part_rewarm;
}

BenchTimings time_bench(decode::Decoder& decoder, std::span<const int32_t> prompt,
                        const BenchRunOptions& options, profile::ReadBandwidthProbe& probe) {
  BenchTimings timings;
  for (int64_t r = 0; r <= options.repeats; ++r) {
    const double seconds = decoder.prefill(prompt).seconds;
    (r == 0 ? timings.prefill_warmup_s : timings.prefill_s).push_back(seconds);
  }
  const auto decode_step = [&] { return decoder.step().seconds; };
  // Positions the step's attention read: the prompt and every token the
  // steps have fed back so far (the cache's length after the step).
  const auto timed_step = [&] {
    timings.decode_step_s.push_back(decode_step());
    const decode::DecodeStats& stats = decoder.stats();
    timings.decode_step_positions.push_back(stats.prompt_tokens + stats.decode_tokens);
  };
  for (int64_t step = 0; step < options.decode_warmup; ++step)
    timings.decode_warmup_s.push_back(decode_step());
  timings.part_steps = split_evenly(options.gen, options.decode_parts);
  for (size_t part = 0; part < timings.part_steps.size(); ++part) {
    timings.probe_gbs.push_back(probe.measure(options.probe_repeats).best);
    if (part > 0) {
      for (int64_t step = 0; step < options.part_rewarm; ++step)
        timings.decode_warmup_s.push_back(decode_step());
    }
    for (int64_t step = 0; step < timings.part_steps[part]; ++step) timed_step();
  }
  timings.probe_gbs.push_back(probe.measure(options.probe_repeats).best);
  timings.kv_bytes_per_position = decoder.kv_cache().bytes_per_token();
  return timings;
}

BenchSummary summarize_bench(const BenchTimings& timings, int64_t prompt_len,
                             const ForwardFlops& flops, size_t weight_bytes,
                             const profile::MachineLimits& limits) {
  if (timings.prefill_s.empty() || timings.decode_step_s.empty()) {
    fail("bench: no timed prefill or decode step to summarize");
  }
  const auto steps_in_parts = static_cast<size_t>(
      std::accumulate(timings.part_steps.begin(), timings.part_steps.end(), int64_t{0}));
  if (steps_in_parts != timings.decode_step_s.size()) {
    fail("bench: the decode parts hold {} steps, {} were timed", steps_in_parts,
         timings.decode_step_s.size());
  }
  if (timings.decode_step_positions.size() != timings.decode_step_s.size()) {
    fail("bench: {} decode steps were timed, {} have positions", timings.decode_step_s.size(),
         timings.decode_step_positions.size());
  }
  // Bytes read by the timed steps [first, first + steps): the weights once
  // per step, the KV cache once per position.
  const auto bytes_of_steps = [&](size_t first, size_t steps) {
    const auto begin = timings.decode_step_positions.begin() + static_cast<std::ptrdiff_t>(first);
    const int64_t positions =
        std::accumulate(begin, begin + static_cast<std::ptrdiff_t>(steps), int64_t{0});
    return static_cast<double>(weight_bytes) * static_cast<double>(steps) +
           static_cast<double>(timings.kv_bytes_per_position) * static_cast<double>(positions);
  };
  BenchSummary s;
  const double tokens = static_cast<double>(prompt_len);
  const double prefill_best_s =
      *std::min_element(timings.prefill_s.begin(), timings.prefill_s.end());
  s.prefill_tok_s = tokens / prefill_best_s;
  s.prefill_tok_s_median = tokens / percentile(timings.prefill_s, 50);
  s.prefill_gflops = static_cast<double>(flops.total()) / prefill_best_s / 1e9;
  s.prefill_flops_fraction = s.prefill_gflops / limits.fma_peak_gflops;

  const double decode_s =
      std::accumulate(timings.decode_step_s.begin(), timings.decode_step_s.end(), 0.0);
  const size_t steps = timings.decode_step_s.size();
  s.decode_tok_s = static_cast<double>(steps) / decode_s;
  s.decode_median_step_s = percentile(timings.decode_step_s, 50);
  s.decode_bytes_per_token = bytes_of_steps(0, steps) / static_cast<double>(steps);
  s.kv_bytes_per_token_read = s.decode_bytes_per_token - static_cast<double>(weight_bytes);
  s.decode_gbs = s.decode_bytes_per_token * s.decode_tok_s / 1e9;
  s.decode_bandwidth_fraction = s.decode_gbs / limits.read_bandwidth_gbs;
  for (size_t part = 0, first = 0; part < timings.part_steps.size(); ++part) {
    const auto part_steps = static_cast<size_t>(timings.part_steps[part]);
    const double seconds = std::accumulate(
        timings.decode_step_s.begin() + static_cast<std::ptrdiff_t>(first),
        timings.decode_step_s.begin() + static_cast<std::ptrdiff_t>(first + part_steps), 0.0);
    s.part_gbs.push_back(bytes_of_steps(first, part_steps) / seconds / 1e9);
    first += part_steps;
  }
  s.paired = profile::paired_fractions(s.part_gbs, timings.probe_gbs);
  return s;
}

}  // namespace tc::eval
