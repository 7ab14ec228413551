#include "eval/attention_bench.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/attention.h"
#include "model/kv_cache.h"

namespace tc::eval {

namespace {

// The GPU kernels of the reference study: PyTorch's scaled_dot_product_attention
// backends other than MATH (which `naive` stands for).
struct GpuKernel {
  const char* slot;
  const char* what;
};
constexpr GpuKernel kGpuKernels[] = {
    {"cuda_flash", "FlashAttention-2's CUDA kernel (PyTorch SDPA's FLASH_ATTENTION backend)"},
    {"cuda_efficient",
     "the memory-efficient CUDA kernel from xFormers (PyTorch SDPA's EFFICIENT_ATTENTION "
     "backend)"},
    {"cudnn_sdpa", "cuDNN's fused attention (PyTorch SDPA's CUDNN_ATTENTION backend)"},
};

// Below the AVX2 level attention_causal and attention_decode run the naive
// kernel themselves: timing them would show the naive kernel twice more
// under other names.
constexpr const char* kNoFastKernels =
    "the kernels run at the scalar level here (no AVX2+FMA+F16C, or TC_ISA=scalar), where "
    "this entry point falls back to the naive kernel";

std::vector<float> normal_values(int64_t count, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& value : values) value = normal(rng);
  return values;
}

// max |a[i] - b[i]| over a's elements.
double max_abs_diff(const float* a, const float* b, int64_t count) {
  double diff = 0;
  for (int64_t i = 0; i < count; ++i) diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
  return diff;
}

// Times `call`, one kernel computing `queries` queries at a context of `tokens`.
AttentionRun timed(const model::ModelConfig& config, const AttentionBenchOptions& options,
                   const std::string& kernel, int64_t tokens, int64_t queries,
                   const std::function<void()>& call) {
  AttentionRun run;
  run.tokens = tokens;
  run.queries = queries;
  run.flops = attention_flops(config.num_heads, config.head_dim, tokens, queries);
  run.time = time_runs("attention " + kernel, options.n_warmup, options.n_iters, call);
  run.gflop_s = static_cast<double>(run.flops) / (run.time.ms.p50 * 1e6);
  return run;
}

AttentionKernelResult cpu_kernel(const char* name, const char* entry_point, const char* work) {
  AttentionKernelResult kernel;
  kernel.name = name;
  kernel.entry_point = entry_point;
  kernel.work = work;
  return kernel;
}

// Fails unless a fast kernel's output agrees with the naive one's.
double checked_diff(const std::string& kernel, int64_t tokens, const float* got, const float* want,
                    int64_t count) {
  const double diff = max_abs_diff(got, want, count);
  if (!(diff <= kAttentionAgreement)) {
    fail("attention {} at {} tokens differs from the naive kernel by {} (more than {}): not timed",
         kernel, tokens, diff, kAttentionAgreement);
  }
  return diff;
}

}  // namespace

const std::vector<std::string>& attention_kernel_slots() {
  static const std::vector<std::string> slots = [] {
    std::vector<std::string> names = {kNaiveKernel, kTiledKernel, kSplitKDecodeKernel};
    for (const GpuKernel& gpu : kGpuKernels) names.emplace_back(gpu.slot);
    return names;
  }();
  return slots;
}

int64_t attention_flops(int64_t heads, int64_t head_dim, int64_t tokens, int64_t queries) {
  const int64_t pairs = queries * tokens - queries * (queries - 1) / 2;
  return 4 * heads * head_dim * pairs;
}

AttentionBenchResult measure_attention_kernels(const model::ModelConfig& config,
                                               const AttentionBenchOptions& options) {
  const kernels::AttentionShape shape{config.num_heads, config.num_kv_heads, config.head_dim};
  AttentionBenchResult result;
  result.heads = shape.heads;
  result.kv_heads = shape.kv_heads;
  result.head_dim = shape.head_dim;
  result.threads = static_cast<int64_t>(ThreadPool::global().size());
  result.kv_cache = kv::KvFormat::kF32;  // as the fp32 rows' caches
  result.seed = options.seed;
  for (const int64_t length : options.lengths) {
    if (length < 1) fail("attention benchmark: length {} is not a context length", length);
    if (length <= config.max_position_embeddings) result.lengths.push_back(length);
  }
  if (result.lengths.empty()) {
    fail("attention benchmark: no length fits max_position_embeddings {}",
         config.max_position_embeddings);
  }

  AttentionKernelResult naive =
      cpu_kernel(kNaiveKernel, "tc::kernels::attention_causal_reference",
                 "causal prefill of L tokens from position 0, one (query, head) at a time: all its "
                 "scores materialized, then softmax, then the weighted sum of values");
  AttentionKernelResult tiled = cpu_kernel(
      kTiledKernel, "tc::kernels::attention_causal",
      "the same causal prefill in blocks of keys with an online softmax (flash attention), SIMD");
  AttentionKernelResult split_k = cpu_kernel(
      kSplitKDecodeKernel, "tc::kernels::attention_decode",
      "one decode query at position L-1 over a one-layer KV cache holding L positions, its keys "
      "split across threads and the partial softmaxes merged (flash-decoding)");
  const bool fast = cpu_has_avx2();
  if (!fast) {
    tiled.unavailable = std::string(kUnavailablePrefix) + kNoFastKernels;
    split_k.unavailable = tiled.unavailable;
  }

  std::mt19937 rng(options.seed);
  const int64_t q_row = shape.heads * shape.head_dim;
  for (const int64_t tokens : result.lengths) {
    const std::vector<float> q = normal_values(tokens * q_row, rng);
    const std::vector<float> keys = normal_values(tokens * config.kv_dim(), rng);
    const std::vector<float> values = normal_values(tokens * config.kv_dim(), rng);
    std::vector<float> want(q.size()), got(q.size());

    naive.runs.push_back(timed(config, options, naive.name, tokens, tokens, [&] {
      kernels::attention_causal_reference(q.data(), keys.data(), values.data(), tokens, 0, shape,
                                          want.data());
    }));
    if (!fast) continue;

    AttentionRun prefill = timed(config, options, tiled.name, tokens, tokens, [&] {
      kernels::attention_causal(q.data(), keys.data(), values.data(), tokens, 0, shape, got.data());
    });
    prefill.max_abs_diff_vs_naive =
        checked_diff(tiled.name, tokens, got.data(), want.data(), tokens * q_row);
    tiled.runs.push_back(std::move(prefill));

    // The last query of the prefill, now as a decode step: its output is the
    // naive kernel's last row.
    const auto cache = model::make_kv_cache(result.kv_cache, config);
    cache->write(0, 0, tokens, keys.data(), values.data());
    cache->commit(tokens);
    const kv::KvView layer = cache->view(0);
    const int64_t last = (tokens - 1) * q_row;
    AttentionRun decode = timed(config, options, split_k.name, tokens, 1, [&] {
      kernels::attention_decode(q.data() + last, tokens - 1, layer, shape, got.data());
    });
    decode.max_abs_diff_vs_naive =
        checked_diff(split_k.name, tokens, got.data(), want.data() + last, q_row);
    split_k.runs.push_back(std::move(decode));
  }

  result.kernels = {std::move(naive), std::move(tiled), std::move(split_k)};
  for (const GpuKernel& gpu : kGpuKernels) {
    AttentionKernelResult slot;
    slot.name = gpu.slot;
    slot.unavailable = std::string(kUnavailablePrefix) +
                       "this build has no CUDA backend (tinycompress's attention kernels are CPU "
                       "code only), so " +
                       gpu.what + " cannot run";
    result.kernels.push_back(std::move(slot));
  }
  return result;
}

}  // namespace tc::eval
