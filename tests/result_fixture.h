// A result record with every field set, for the tests of the record, the
// tables and the doc check (a field left unset here would be missed there).
#pragma once

#include <string>

#include "harness/result_record.h"

namespace tc::test {

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
