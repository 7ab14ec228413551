// The measurement behind `tinycompress bench --model`: timed prefills and
// decode steps of one model, and the arithmetic that turns them into rates
// and fractions of the machine's limits.
//
// Decode of one token streams every weight once, and attention reads the
// KV cache of every position so far, so its speed is bounded by memory
// bandwidth: bytes per token × tok/s against the measured read bandwidth. Prefill of many tokens is matmul-bound: FLOPs per second against
// the measured FMA peak. The timed decode steps run in parts with the read
// bandwidth probed before, between and after them: each part against its own
// probes (profile/paired_fraction.h) gives a fraction that a change of the
// machine's phase during the run cannot skew.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "decode/decoder.h"
#include "eval/model_cost.h"
#include "profile/machine_limits.h"
#include "profile/paired_fraction.h"

namespace tc::eval {

struct BenchRunOptions {
  int64_t repeats = 3;       // timed prefills (after one warm-up)
  int64_t gen = 32;          // timed decode steps
  int64_t decode_parts = 4;  // parts the timed steps are split into (at most gen)
  // Decode steps run and discarded before the timed ones (caches, branch
  // predictors, the KV cache's first growth).
  int64_t decode_warmup = 2;
  // Untimed decode steps after each probe between parts: the probe evicted
  // the caches and the model's threads went to sleep while it ran.
  int64_t part_rewarm = 1;
  // Passes of the bandwidth buffer per probe (after one warm-up pass).
  int probe_repeats = 3;
};

// Positions a run occupies after its prompt (warm-up, timed and re-warm steps).
int64_t bench_decode_positions(const BenchRunOptions& options);

struct BenchTimings {
  std::vector<double> prefill_warmup_s;
  std::vector<double> prefill_s;  // timed prefills
  std::vector<double> decode_warmup_s;
  std::vector<double> decode_step_s;  // timed decode steps, all parts in order
  // Positions each timed step's attention read (the cache's length after
  // it), and the bytes the cache stores per position (its bytes_per_token).
  std::vector<int64_t> decode_step_positions;
  size_t kv_bytes_per_position = 0;
  std::vector<int64_t> part_steps;    // timed steps of each decode part
  std::vector<double> probe_gbs;      // read bandwidth (best pass) before, between and after parts
};

// Warm-up and timed prefills of `decoder` (each starts a fresh KV cache);
// then its decode steps after the last prefill, in parts with a bandwidth
// probe before, between and after them. A step's time is the decoder's own
// (its forward pass and its choice of token).
BenchTimings time_bench(decode::Decoder& decoder, std::span<const int32_t> prompt,
                        const BenchRunOptions& options, profile::ReadBandwidthProbe& probe);

struct BenchSummary {
  double prefill_tok_s = 0;  // prompt tokens over the best (least disturbed) prefill
  double prefill_tok_s_median = 0;
  double prefill_gflops = 0;          // the best prefill's FLOPs per second
  double prefill_flops_fraction = 0;  // of the FMA peak
  double decode_tok_s = 0;            // all timed steps together (positions grow: no repeats)
  double decode_median_step_s = 0;
  // Bytes the timed steps read per token, on average: the weights and
  // kv_bytes_per_token_read (positions × the cache's bytes per position).
  double decode_bytes_per_token = 0;
  double kv_bytes_per_token_read = 0;
  double decode_gbs = 0;                 // decode_bytes_per_token × decode_tok_s
  double decode_bandwidth_fraction = 0;  // of the best read bandwidth of the run
  std::vector<double> part_gbs;          // each decode part's bytes (weights and KV) over its time
  profile::PairedFractions paired;       // each part against the probes beside it
};

// prompt_len: the prefills' tokens; flops: of one prefill; weight_bytes:
// the weights one decode step reads (decode_weight_bytes_per_token); each
// step also reads timings.kv_bytes_per_position per position. Throws
// tc::Error when the timings cannot give rates (no samples, parts or
// positions that do not add up to the steps).
BenchSummary summarize_bench(const BenchTimings& timings, int64_t prompt_len,
                             const ForwardFlops& flops, size_t weight_bytes,
                             const profile::MachineLimits& limits);

}  // namespace tc::eval
