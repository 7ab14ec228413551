// The attention kernel benchmark (the attn_bench_cpu row): one layer of a
// model's head shape, random queries, keys and values from a fixed seed, and
// each CPU attention kernel timed at a few context lengths, with warm-up
// runs discarded, percentiles and the achieved GFLOP/s. The GPU kernels the
// reference study compared (FlashAttention, memory-efficient attention,
// cuDNN SDPA) keep their slots, each with why it did not run here.
//
// FLOPs: 4·heads·head_dim per visible (query, key) pair, 2 for the score's
// dot product and 2 for adding the value weighted by it; the softmax (max,
// exp, sum, divide) is not counted, as in FlashAttention's and
// bench/attention_bench.cc's figures. n queries ending at position L-1 see
// pairs(L, n) = n·L - n(n-1)/2 keys in all: L(L+1)/2 for a prefill of L
// tokens, L for one decode query.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/latency.h"
#include "kv/kv_layout.h"
#include "model/config.h"

namespace tc::eval {

// The context lengths measured (those above the model's
// max_position_embeddings are left out).
inline const std::vector<int64_t> kAttentionBenchLengths = {128, 512, 2048};

// Every slot of the benchmark, in the order results list them: the three
// CPU kernels, then the GPU kernels of the reference study.
inline constexpr const char* kNaiveKernel = "naive";
inline constexpr const char* kTiledKernel = "tiled_online_softmax";
inline constexpr const char* kSplitKDecodeKernel = "split_k_decode";
const std::vector<std::string>& attention_kernel_slots();
// How a slot that did not run says why: "unavailable: <reason>".
inline constexpr const char* kUnavailablePrefix = "unavailable: ";

// The largest |naive - fast kernel| accepted when the fast kernels are
// checked against the naive one (outputs are averages of N(0, 1) values).
inline constexpr double kAttentionAgreement = 1e-4;

// FLOPs of `queries` causal queries ending at position tokens-1 (header).
int64_t attention_flops(int64_t heads, int64_t head_dim, int64_t tokens, int64_t queries);

// Every kernel runs n_warmup + n_iters calls at every length. No kernel
// needs fewer: the naive one, the slowest, took 93 ms a call at 2048 tokens
// of tiny-qwen2-m's shape on two cores (its dot products are SIMD; the
// softmax and the weighted sum are scalar), so at the harness's 2 + 10 calls
// even Qwen2.5-3B's shape (8x the work per pair) stays near 10 s.
struct AttentionBenchOptions {
  std::vector<int64_t> lengths = kAttentionBenchLengths;
  int64_t n_warmup = 1;  // at least 1
  int64_t n_iters = 1;   // at least 1
  uint32_t seed = 1234;
};

// One kernel at one context length.
struct AttentionRun {
  int64_t tokens = 0;   // context length L
  int64_t queries = 0;  // L for a prefill kernel, 1 for decode
  int64_t flops = 0;    // of one call, attention_flops
  TimedRuns time;
  double gflop_s = 0;  // flops / time.ms.p50
  // max |output - naive output| over the outputs both compute; none for
  // the naive kernel itself.
  std::optional<double> max_abs_diff_vs_naive;
};

struct AttentionKernelResult {
  std::string name;                        // a slot of attention_kernel_slots()
  std::optional<std::string> unavailable;  // "unavailable: <reason>" when it did not run
  std::string entry_point;                 // the function timed
  std::string work;                        // what one call computes
  std::vector<AttentionRun> runs;          // one per measured length
};

struct AttentionBenchResult {
  int64_t heads = 0, kv_heads = 0, head_dim = 0;
  int64_t threads = 0;  // of the global thread pool, which the kernels run on
  kv::KvFormat kv_cache = kv::KvFormat::kF32;  // the decode kernel's cache
  uint32_t seed = 0;
  std::vector<int64_t> lengths;                // measured (capped at max positions)
  std::vector<AttentionKernelResult> kernels;  // every slot, in slot order
};

// Measures every CPU kernel at every length of `options` up to
// config.max_position_embeddings, and fills the GPU slots with their
// reasons. Throws tc::Error when a fast kernel disagrees with the naive one
// by more than kAttentionAgreement (a broken kernel is not timed), or when
// no length fits the model.
AttentionBenchResult measure_attention_kernels(const model::ModelConfig& config,
                                               const AttentionBenchOptions& options);

}  // namespace tc::eval
