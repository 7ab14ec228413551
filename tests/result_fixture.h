// A result record with every field set, for the tests of the record, the
// tables and the doc check (a field left unset here would be missed there).
#pragma once

#include <string>

#include "harness/result_record.h"

namespace tc::test {

// One attention run at 128 tokens of the fixture's head shape (4 heads of
// 16): samples 2, 1, 3 (times `scale`) -> mean and p50 2, p90 2.8, p99 2.98,
// so gflop_s = flops / (2·scale·1e6).
inline harness::AttentionRunRecord attention_run(int64_t queries, double scale) {
  constexpr int64_t kTokens = 128;
  const int64_t flops = 4 * 4 * 16 * (queries * kTokens - queries * (queries - 1) / 2);
  return {.tokens = kTokens,
          .queries = queries,
          .flops = flops,
          .n_warmup = 1,
          .n_iters = 3,
          .warmup_ms = {5 * scale},
          .samples_ms = {2 * scale, 1 * scale, 3 * scale},
          .ms = {.mean = 2 * scale,
                 .p50 = 2 * scale,
                 .p90 = 2.8 * scale,
                 .p99 = 2.98 * scale,
                 .min = 1 * scale,
                 .max = 3 * scale},
          .gflop_s = static_cast<double>(flops) / (2 * scale * 1e6),
          .max_abs_diff_vs_naive = std::nullopt};
}

// The attn_bench_cpu section: the three CPU kernels at 128 tokens, the GPU
// slots unavailable.
inline harness::AttentionRecord attention_section() {
  using harness::AttentionKernelRecord;
  harness::AttentionRunRecord tiled = attention_run(128, 0.25);
  tiled.max_abs_diff_vs_naive = 2e-7;
  harness::AttentionRunRecord decode = attention_run(1, 0.01);
  decode.max_abs_diff_vs_naive = 1e-7;
  const std::string no_cuda = "unavailable: this build has no CUDA backend";
  return {
      .heads = 4,
      .kv_heads = 2,
      .head_dim = 16,
      .threads = 8,
      .kv_cache = "f32",
      .seed = 1234,
      .lengths = {128},
      .kernels = {{"naive", AttentionKernelRecord{.entry_point = "attention_causal_reference",
                                                  .work = "causal prefill",
                                                  .runs = {attention_run(128, 1.0)}}},
                  {"tiled_online_softmax", AttentionKernelRecord{.entry_point = "attention_causal",
                                                                 .work = "causal prefill, flash",
                                                                 .runs = {tiled}}},
                  {"split_k_decode", AttentionKernelRecord{.entry_point = "attention_decode",
                                                           .work = "one decode query",
                                                           .runs = {decode}}},
                  {"cuda_flash", no_cuda},
                  {"cuda_efficient", no_cuda},
                  {"cudnn_sdpa", no_cuda}}};
}

inline harness::ResultRecord full_result(const std::string& model, const std::string& method) {
  using namespace harness;
  ResultRecord r;
  r.status = "ok";
  r.error = std::nullopt;
  r.model = {.name = model,
             .path = "/models/" + model,
             .role = "fixture",
             .config = ModelConfigRecord{.hidden_size = 64,
                                         .intermediate_size = 256,
                                         .num_layers = 2,
                                         .num_heads = 4,
                                         .num_kv_heads = 2,
                                         .head_dim = 16,
                                         .vocab_size = 1000,
                                         .tie_word_embeddings = true,
                                         .parameters = 123456}};
  r.method = {.name = method,
              .description = "test method",
              .weight_format = "f32",
              .device = "cpu",
              .kv_cache = "f32"};
  r.started_at = "2025-01-01T00:00:00Z";
  r.finished_at = "2025-01-01T00:01:00Z";
  r.wall_seconds = 60.0;
  r.hardware = {{"cpu",
                 {{"model_name", "Test CPU 9000"},
                  {"physical_cores", 8},
                  {"logical_cpus", 16},
                  {"kernel_isa", "avx512"}}},
                {"build", {{"git_revision", "0123456789ab"}}}};
  r.settings = {.n_warmup = 1,
                .n_iters = 5,
                .seq_len_for_latency = 128,
                .ppl_max_length = 256,
                .ppl_stride = 128,
                .max_new_tokens = 16,
                .threads = 8};
  r.load = LoadRecord{.seconds = 0.5};
  // samples 10, 11, 12, 13, 14.5 -> mean 12.1, p50 12, p90 13.9, p99 14.44 (numpy).
  r.latency = LatencyRecord{
      .seq_len = 128,
      .n_warmup = 1,
      .n_iters = 5,
      .warmup_ms = {30.0},
      .samples_ms = {12.0, 10.0, 14.5, 11.0, 13.0},
      .ms = {.mean = 12.1, .p50 = 12.0, .p90 = 13.9, .p99 = 14.44, .min = 10.0, .max = 14.5}};
  r.generation = GenerationRecord{.prompts_file = "prompts/prompts.txt",
                                  .prompts_sha256 = std::string(64, 'a'),
                                  .max_new_tokens = 16,
                                  .per_prompt = {{.prompt_tokens = 8,
                                                  .new_tokens = 16,
                                                  .prefill_seconds = 0.01,
                                                  .decode_seconds = 0.2,
                                                  .seconds = 0.21,
                                                  .tok_s = 76.2,
                                                  .prefill_tok_s = 800.0,
                                                  .decode_tok_s = 75.0}},
                                  .new_tokens = 16,
                                  .seconds = 0.21,
                                  .tok_s = 76.2,
                                  .prefill_tok_s = 1234.5,
                                  .decode_tok_s = 42.3,
                                  .draft_tokens_proposed = 0,
                                  .draft_tokens_accepted = 0};
  r.perplexity = PerplexityRecord{.dataset = "kdoc",
                                  .split = "test",
                                  .file = "data/kdoc/test.txt",
                                  .sha256 = std::string(64, 'b'),
                                  .n_tokens = 40,
                                  .max_length = 256,
                                  .stride = 128,
                                  .ppl = 21.5,
                                  .nll_sum = 119.6,
                                  .scored_tokens = 39,
                                  .windows = 1,
                                  .seconds = 0.3};
  r.memory = MemoryRecord{.baseline_bytes = 1000000,
                          .peak_bytes = 512300000,
                          .peak_above_baseline_bytes = 511300000,
                          .samples = 100,
                          .interval_ms = 5,
                          .duration_s = 0.5,
                          .kernel_peak_bytes = 513000000,
                          .reliable = true,
                          .note = ""};
  r.size = SizeRecord{.weights_in_memory_bytes = 1976000000, .on_disk_bytes = 988000000};
  r.data_used = {
      {.purpose = "calibration",
       .dataset = "kdoc",
       .layout = "kdoc",
       .split = "train",
       .file = "data/kdoc/train.txt",
       .hashed = "file_bytes",
       .sha256 = std::string(64, 'c'),
       .windows = {
           {.byte_offset = 0, .byte_length = 40, .n_tokens = 10, .sha256 = std::string(64, 'd')}}}};
  r.compile = CompileRecord{.first_run_ms = 250.0};
  // 2 layers × 2 kv heads × 16 dims: 512 bytes a token in f32.
  r.kv_probe = KvProbeRecord{.prompt_tokens = 9,
                             .window_tokens = 16,
                             .ladder = {128},
                             .rss_note = "process-wide",
                             .rungs = {{.tokens = 128,
                                        .kv_format = "f32",
                                        .analytic_bytes_per_token = 512,
                                        .analytic_bytes = 65536,
                                        .measured_bytes = 65536,
                                        .allocated_bytes = 65536,
                                        .rss_delta_bytes = {-4096},
                                        .decode_tok_s = 800.0}}};
  r.kv_comparison = KvComparisonRecord{.baseline_kv_cache = "f16",
                                       .bytes_per_token = 144,
                                       .baseline_bytes_per_token = 256,
                                       .bytes_ratio = 0.5625,
                                       .decode_tok_s = 110.0,
                                       .baseline_decode_tok_s = 100.0,
                                       .prompts = 1,
                                       .prompts_identical = 1,
                                       .per_prompt = {{.prompt_tokens = 5,
                                                       .new_tokens = 16,
                                                       .identical_prefix = 16,
                                                       .decode_tok_s = 110.0,
                                                       .baseline_decode_tok_s = 100.0}}};
  r.attention = attention_section();
  // Consistent totals: 22 of 36 accepted, 0.45 s target-only over 0.25 s.
  r.speculative = SpeculativeRecord{.draft = "draft-model",
                                    .k = 4,
                                    .proposed = 36,
                                    .accepted = 22,
                                    .accept_rate = 22.0 / 36.0,
                                    .new_tokens = 32,
                                    .target_only_new_tokens = 32,
                                    .spec_seconds = 0.25,
                                    .target_only_seconds = 0.45,
                                    .spec_tok_s = 128.0,
                                    .target_only_tok_s = 32 / 0.45,
                                    .wallclock_speedup = 1.8,
                                    .per_prompt = {{.prompt_tokens = 8,
                                                    .new_tokens = 16,
                                                    .target_only_new_tokens = 16,
                                                    .proposed = 20,
                                                    .accepted = 12,
                                                    .spec_seconds = 0.1,
                                                    .target_only_seconds = 0.2,
                                                    .ids_identical = true},
                                                   {.prompt_tokens = 6,
                                                    .new_tokens = 16,
                                                    .target_only_new_tokens = 16,
                                                    .proposed = 16,
                                                    .accepted = 10,
                                                    .spec_seconds = 0.15,
                                                    .target_only_seconds = 0.25,
                                                    .ids_identical = false}}};
  r.method_details = {{"sparsity", 0.5}};
  return r;
}

}  // namespace tc::test
