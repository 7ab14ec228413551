#include "harness/methods.h"

#include <cstdio>
#include <optional>

#include "core/error.h"
#include "decode/greedy_decoder.h"
#include "decode/speculative_decoder.h"
#include "eval/attention_bench.h"
#include "eval/dataset.h"
#include "eval/kv_comparison.h"
#include "eval/kv_probe.h"
#include "harness/speculative_row.h"
#include "model/loader.h"
#include "quant/error_stats.h"
#include "quant/gptq.h"
#include "quant/linear_walk.h"
#include "quant/prune.h"
#include "tokenizer/tokenizer.h"
#include "weights/quant_rules.h"

namespace tc::harness {

namespace {

// Baselines: the checkpoint's weights held in one dense format, converted
// once at load; every kernel computes and accumulates in fp32.
Method dense_baseline(const std::string& name, model::WeightFormat format,
                      const std::string& description) {
  Method method;
  method.name = name;
  method.description = description;
  method.weight_format = std::string(weights::weight_format_name(format));
  method.prepare = [format](const MethodContext& context) {
    PreparedModel prepared;
    prepared.model =
        std::make_unique<model::Qwen2Model>(model::load_qwen2(context.model_dir, format));
    prepared.details = {{"weights", "dense " + std::string(weights::weight_format_name(format)) +
                                        ", converted once at load (round to nearest even)"},
                        {"compute", "fp32 accumulation"}};
    return prepared;
  };
  return method;
}

// The fp32 baseline with keys and values stored in another KV-cache format:
// the format is the only difference from fp32_cpu. With a baseline format,
// the row also generates every prompt with that format's cache, in the
// same process, into kv_comparison.
Method kv_cache_method(const std::string& name, model::KvFormat format,
                       std::optional<model::KvFormat> baseline, const std::string& description) {
  Method method = dense_baseline(name, model::WeightFormat::kF32, description);
  method.kv_cache = format;
  if (!baseline) return method;
  method.measure_row = [format, baseline = *baseline](const RowInputs& in, ResultRecord& result) {
    model::Qwen2Model& model = *in.prepared.model;
    const eval::KvComparison comparison = eval::compare_kv_formats(
        model, in.tokenizer, in.prompts, in.settings.max_new_tokens, format, baseline);
    KvComparisonRecord record;
    record.baseline_kv_cache = std::string(model::kv_format_name(baseline));
    record.bytes_per_token = eval::analytic_kv_bytes_per_token(model.config(), format);
    record.baseline_bytes_per_token = eval::analytic_kv_bytes_per_token(model.config(), baseline);
    record.bytes_ratio = static_cast<double>(record.bytes_per_token) /
                         static_cast<double>(record.baseline_bytes_per_token);
    record.decode_tok_s = comparison.decode_tok_s;
    record.baseline_decode_tok_s = comparison.baseline_decode_tok_s;
    for (const eval::KvComparisonPrompt& p : comparison.per_prompt) {
      record.per_prompt.push_back({.prompt_tokens = p.prompt_tokens,
                                   .new_tokens = p.new_tokens,
                                   .identical_prefix = p.identical_prefix,
                                   .decode_tok_s = p.decode_tok_s,
                                   .baseline_decode_tok_s = p.baseline_decode_tok_s});
      record.prompts_identical += p.identical ? 1 : 0;
    }
    record.prompts = static_cast<int64_t>(record.per_prompt.size());
    result.kv_comparison = record;
  };
  return method;
}

// A row that measures only its own section (measure_row), on the model
// loaded as in fp32_cpu: no latency, generation or perplexity.
Method own_section_row(const std::string& name, const std::string& description) {
  Method method = dense_baseline(name, model::WeightFormat::kF32, description);
  method.measures_latency = false;
  method.measures_generation = false;
  method.measures_perplexity = false;
  return method;
}

// The KV-cache probe: fp32 weights, every cache format, the configured
// ladder of context lengths (eval/kv_probe.h).
Method kv_probe_method() {
  Method method = own_section_row(
      "kv_probe_cpu",
      "KV-cache probe: fp32 weights, greedy decoding extended to each context length of the "
      "ladder with an f32, an f16 and an int8 cache; per rung the cache's bytes (analytic, "
      "stored, allocated), the process RSS growth and the decode speed.");
  method.measure_row = [](const RowInputs& in, ResultRecord& result) {
    constexpr int64_t kWindow = 32;
    const std::vector<int32_t> prompt = in.tokenizer.encode(in.prompts.at(0));
    int64_t last_reported = 0;
    const std::vector<eval::KvProbeRung> rungs = eval::probe_kv_cache(
        *in.prepared.model, prompt,
        {.ladder = in.settings.kv_probe_ladder,
         .formats = {model::KvFormat::kF32, model::KvFormat::kF16, model::KvFormat::kI8},
         .window = kWindow,
         .progress = [&](int64_t done, int64_t total) {
           if (!in.show_progress || done == last_reported) return;
           last_reported = done;
           std::fprintf(stderr, "    kv probe: %ld/%ld rungs\n", static_cast<long>(done),
                        static_cast<long>(total));
         }});
    KvProbeRecord record{.prompt_tokens = static_cast<int64_t>(prompt.size()),
                         .window_tokens = kWindow,
                         .ladder = in.settings.kv_probe_ladder,
                         .rss_note =
                             "process-wide resident set now minus at the start of this "
                             "format's probe: the cache plus anything else the process "
                             "allocated or freed meanwhile (allocator caches included)",
                         .rungs = {}};
    for (const eval::KvProbeRung& r : rungs) {
      record.rungs.push_back({.tokens = r.tokens,
                              .kv_format = std::string(model::kv_format_name(r.format)),
                              .analytic_bytes_per_token = r.analytic_bytes_per_token,
                              .analytic_bytes = r.analytic_bytes,
                              .measured_bytes = r.measured_bytes,
                              .allocated_bytes = r.allocated_bytes,
                              .rss_delta_bytes = {r.rss_delta_bytes},
                              .decode_tok_s = r.decode_tok_s});
    }
    result.kv_probe = record;
  };
  return method;
}

// Unstructured magnitude pruning of every decoder Linear at one sparsity;
// embeddings and lm_head (tied) untouched. Weights stay dense fp32.
Method magnitude_pruning(int percent) {
  Method method;
  method.name = "prune_mag_" + std::to_string(percent) + "_cpu";
  method.description = "Unstructured magnitude pruning: the " + std::to_string(percent) +
                       "% smallest |w| of each decoder Linear set to zero (dense fp32 storage; "
                       "embeddings and lm_head untouched).";
  method.weight_format = "f32";
  method.prepare = [percent](const MethodContext& context) {
    PreparedModel prepared;
    prepared.model = std::make_unique<model::Qwen2Model>(
        model::load_qwen2(context.model_dir, model::WeightFormat::kF32));
    nlohmann::json layers = nlohmann::json::array();
    int64_t zeros = 0, elements = 0;
    quant::for_each_linear(
        prepared.model->mutable_weights(),
        [&](int64_t layer, const std::string& name, weights::WeightMatrix& m) {
          const quant::PruneStats stats = quant::prune_by_magnitude(m, percent / 100.0);
          zeros += stats.zeros;
          elements += stats.elements;
          layers.push_back({{"layer", layer}, {"linear", name}, {"sparsity", stats.sparsity()}});
        });
    prepared.details = {
        {"target_sparsity", percent / 100.0},
        {"measured_sparsity",
         elements ? static_cast<double>(zeros) / static_cast<double>(elements) : 0.0},
        {"untouched", {"model.embed_tokens.weight (tied lm_head)"}},
        {"storage", "dense fp32: zeros are stored, no sparse kernels"},
        {"layers", layers}};
    return prepared;
  };
  return method;
}

// How a quantizing method makes its Linears' weights: round to nearest
// (the format's reference codec) or GPTQ from calibration data.
enum class Rounding { kNearest, kGptq };

// Calibration windows from the train split of the configured data set.
constexpr int kGptqWindows = 8;
constexpr int kGptqWindowTokens = 256;
constexpr uint64_t kGptqSeed = 1234;

// A method whose decoder Linears are held in `format`. The embedding
// matrix (which is also lm_head when tied, as in every Qwen2.5 up to 3B) is
// int8 per row for every format: a row is one token's vector, so the same
// scales serve the lookup and the output projection; with W8A8 Linears it
// is W8A8 too.
Method quantized_method(const std::string& name, weights::WeightFormat format, Rounding rounding,
                        const std::string& description, const std::string& embedding_policy) {
  Method method;
  method.name = name;
  method.description = description;
  method.weight_format = std::string(weights::weight_format_name(format));
  method.prepare = [format, rounding, embedding_policy](const MethodContext& context) {
    PreparedModel prepared;
    prepared.model = std::make_unique<model::Qwen2Model>(
        model::load_qwen2(context.model_dir, model::WeightFormat::kF32));
    model::Qwen2Weights& weights = prepared.model->mutable_weights();
    nlohmann::json layers = nlohmann::json::array();
    if (rounding == Rounding::kGptq) {
      if (context.calibration_source.empty()) {
        fail("{}: GPTQ needs calibration data: configure [data] calibration or pass --calib-file",
             context.model_dir);
      }
      const eval::TextSplit split = eval::load_split(context.calibration_source, "train");
      const auto tokenizer = tokenizer::Tokenizer::from_model_dir(context.model_dir);
      const std::vector<eval::TextWindow> windows =
          eval::sample_token_windows(split, tokenizer, kGptqWindows, kGptqWindowTokens, kGptqSeed);
      std::vector<std::vector<int32_t>> ids;
      for (const auto& window : windows) ids.push_back(window.ids);
      const quant::GptqModelResult gptq = quant::gptq_quantize_model(*prepared.model, ids);
      layers = gptq.layers;
      prepared.data_used.push_back(eval::to_json(split, windows, "calibration"));
      prepared.details["gptq"] = {{"seconds", gptq.seconds},
                                  {"windows", kGptqWindows},
                                  {"window_tokens", kGptqWindowTokens},
                                  {"seed", kGptqSeed},
                                  {"percdamp", quant::GptqOptions{}.percdamp},
                                  {"block_size", quant::GptqOptions{}.block_size}};
    } else {
      quant::for_each_linear(
          weights, [&](int64_t layer, const std::string& linear, weights::WeightMatrix& m) {
            weights::WeightMatrix q = weights::convert_weights(m, format);
            layers.push_back({{"layer", layer},
                              {"linear", linear},
                              {"weight_rel_error", quant::relative_frobenius_error(m, q)}});
            m = std::move(q);
          });
    }
    const weights::WeightFormat embedding_format = format == weights::WeightFormat::kQ8RowDynamic
                                                       ? weights::WeightFormat::kQ8RowDynamic
                                                       : weights::WeightFormat::kQ8Row;
    weights::WeightMatrix embed = weights::convert_weights(weights.embed_tokens, embedding_format);
    const double embed_error = quant::relative_frobenius_error(weights.embed_tokens, embed);
    weights.embed_tokens = std::move(embed);
    if (weights.lm_head)
      weights.lm_head = weights::convert_weights(*weights.lm_head, embedding_format);
    prepared.details["embedding_and_lm_head"] = {{"policy", embedding_policy},
                                                 {"weight_rel_error", embed_error}};
    prepared.details["layers"] = layers;
    return prepared;
  };
  return method;
}

// The benchmark's result as the `attention` section: each kernel's slot
// holds its runs, or the string saying why it did not run.
AttentionRecord attention_record(const eval::AttentionBenchResult& bench) {
  AttentionRecord record{.heads = bench.heads,
                         .kv_heads = bench.kv_heads,
                         .head_dim = bench.head_dim,
                         .threads = bench.threads,
                         .kv_cache = std::string(model::kv_format_name(bench.kv_cache)),
                         .seed = bench.seed,
                         .lengths = bench.lengths,
                         .kernels = {}};
  for (const eval::AttentionKernelResult& kernel : bench.kernels) {
    if (kernel.unavailable) {
      record.kernels[kernel.name] = *kernel.unavailable;
      continue;
    }
    AttentionKernelRecord measured{
        .entry_point = kernel.entry_point, .work = kernel.work, .runs = {}};
    for (const eval::AttentionRun& run : kernel.runs) {
      measured.runs.push_back({.tokens = run.tokens,
                               .queries = run.queries,
                               .flops = run.flops,
                               .n_warmup = run.time.n_warmup,
                               .n_iters = run.time.n_iters,
                               .warmup_ms = run.time.warmup_ms,
                               .samples_ms = run.time.samples_ms,
                               .ms = stats_record_of(run.time.ms),
                               .gflop_s = run.gflop_s,
                               .max_abs_diff_vs_naive = run.max_abs_diff_vs_naive});
    }
    record.kernels[kernel.name] = std::move(measured);
  }
  return record;
}

// The attention kernels at the model's head shape (eval/attention_bench.h),
// instead of the common measurements. Only the config is needed, but the
// cell reports the model's size, so the weights load as for fp32_cpu.
Method attention_bench() {
  Method method = own_section_row(
      "attn_bench_cpu",
      "Attention kernels at the model's head shape, one layer of random inputs: the naive "
      "kernel, the tiled online-softmax prefill kernel and the split-K decode kernel at 128, "
      "512 and 2048 tokens (p50 ms, GFLOP/s); the GPU kernels' slots say why they did not run.");
  method.prepare = [load = method.prepare](const MethodContext& context) {
    PreparedModel prepared = load(context);
    prepared.details = {{"weights",
                         "loaded as in fp32_cpu for the config and size only: no "
                         "forward pass runs"},
                        {"inputs", "one layer of random queries, keys and values, N(0, 1)"}};
    return prepared;
  };
  method.measure_row = [](const RowInputs& in, ResultRecord& result) {
    const eval::AttentionBenchResult bench = eval::measure_attention_kernels(
        in.prepared.model->config(),
        {.n_warmup = in.settings.n_warmup, .n_iters = in.settings.n_iters});
    result.attention = attention_record(bench);
  };
  return method;
}

// Speculative decoding with `k` draft tokens a step: the target and its
// run_config draft, both fp32 with fp32 KV caches. Latency and perplexity
// are the target's alone, the fp32_cpu row's: not measured again.
// Generation runs through the speculative decoder; the row's own
// measurement compares it with the target alone, prompt by prompt.
Method speculative_method(int64_t k) {
  Method method;
  method.name = "spec_k" + std::to_string(k) + "_cpu";
  method.description = "Speculative decoding (greedy): the model's draft proposes " +
                       std::to_string(k) +
                       " tokens a step, the target verifies them in one forward pass and keeps "
                       "the longest agreeing prefix plus its own next token; fp32 weights.";
  method.weight_format = "f32";
  method.measures_latency = false;
  method.measures_perplexity = false;
  method.needs_draft = true;
  method.prepare = [name = method.name, k](const MethodContext& context) {
    if (context.draft_dir.empty()) {
      fail(
          "{}: {} needs a draft model: name one with `draft = \"<model>\"` in the model's "
          "run_config entry",
          context.model_dir, name);
    }
    PreparedModel prepared;
    prepared.model = std::make_unique<model::Qwen2Model>(
        model::load_qwen2(context.model_dir, model::WeightFormat::kF32));
    prepared.draft = std::make_unique<model::Qwen2Model>(
        model::load_qwen2(context.draft_dir, model::WeightFormat::kF32));
    prepared.draft_name = context.draft_name;
    decode::check_same_vocabulary(
        *prepared.model, "the target " + context.model_dir, *prepared.draft,
        "the draft " + context.draft_name + " (" + context.draft_dir + ")");
    prepared.details = {{"draft", context.draft_name},
                        {"draft_path", context.draft_dir},
                        {"k", k},
                        {"weights", "dense f32, target and draft"},
                        {"accept_rule",
                         "greedy: the longest prefix of the draft's tokens equal to "
                         "the target's argmax, then the target's own token"}};
    return prepared;
  };
  method.make_decoder = [k](const PreparedModel& prepared, const decode::DecoderOptions& options) {
    return std::make_unique<decode::SpeculativeDecoder>(*prepared.model, *prepared.draft, k,
                                                        options);
  };
  method.measure_row = [k](const RowInputs& inputs, ResultRecord& result) {
    result.speculative = measure_speculative(inputs, k);
  };
  return method;
}

std::vector<Method> build_registry() {
  std::vector<Method> methods;
  methods.push_back(
      dense_baseline("fp32_cpu", model::WeightFormat::kF32,
                     "Baseline: every weight widened to fp32 at load, fp32 kernels on the CPU."));
  methods.push_back(
      dense_baseline("bf16_cpu", model::WeightFormat::kBF16,
                     "Weights held as bf16 (half the bytes), widened to fp32 inside the kernels."));
  methods.push_back(dense_baseline(
      "fp16_cpu", model::WeightFormat::kF16,
      "Weights held as IEEE fp16 (half the bytes), widened to fp32 inside the kernels."));
  methods.push_back(quantized_method(
      "int8_wo_cpu", weights::WeightFormat::kQ8Row, Rounding::kNearest,
      "Weight-only int8: each Linear row (output channel) symmetric int8 with one fp32 scale; "
      "dequantized inside the matmul kernel, activations fp32.",
      "int8 per row (weight-only), like the Linears"));
  methods.push_back(quantized_method(
      "int8_g128_cpu", weights::WeightFormat::kQ8G128, Rounding::kNearest,
      "Weight-only int8 in groups: one fp16 scale per group of 128 inputs of a row (a finer "
      "scale than int8_wo_cpu's one per row); int8 dot products per group, activations fp32.",
      "int8 per row, as in int8_wo_cpu"));
  methods.push_back(quantized_method(
      "int4_g128_cpu", weights::WeightFormat::kQ4G128, Rounding::kNearest,
      "int4 round-to-nearest: two weights per byte, one fp16 scale per group of 128 inputs; "
      "dequantized inside the kernel.",
      "int8 per row: the output layer is kept at 8 bits, as llama.cpp's 4-bit types keep it "
      "at higher precision"));
  methods.push_back(quantized_method(
      "gptq_int4_g128_cpu", weights::WeightFormat::kQ4G128, Rounding::kGptq,
      "GPTQ into the int4 group-128 format: error-compensating column-by-column quantization "
      "from 8 calibration windows x 256 tokens of the train split.",
      "int8 per row (not GPTQ-calibrated), as in int4_g128_cpu"));
  methods.push_back(quantized_method(
      "dynamic_int8_cpu", weights::WeightFormat::kQ8RowDynamic, Rounding::kNearest,
      "W8A8: int8 per-row weights times int8 activations quantized per token at run time; "
      "integer dot products accumulated in int32, rescaled to fp32.",
      "int8 per row with dynamic int8 activations for lm_head"));
  for (int percent = 10; percent <= 70; percent += 10)
    methods.push_back(magnitude_pruning(percent));
  methods.push_back(kv_cache_method(
      "kv_f16_cpu", model::KvFormat::kF16, std::nullopt,
      "fp32 weights with an fp16 KV cache (llama.cpp's default): half the bytes per cached token "
      "of fp32_cpu's; the baseline of kv_int8_cpu."));
  methods.push_back(kv_cache_method(
      "kv_int8_cpu", model::KvFormat::kI8, model::KvFormat::kF16,
      "fp32 weights with an int8 KV cache: symmetric int8 keys and values, one fp16 scale per "
      "token and kv head; attention reads the integers in place. Compared with kv_f16_cpu's "
      "cache in the same process."));
  methods.push_back(kv_probe_method());
  methods.push_back(attention_bench());
  methods.push_back(speculative_method(4));
  return methods;
}

}  // namespace

std::unique_ptr<decode::Decoder> make_greedy_decoder(const PreparedModel& prepared,
                                                     const decode::DecoderOptions& options) {
  return std::make_unique<decode::GreedyDecoder>(*prepared.model, options);
}

const std::vector<Method>& method_registry() {
  static const std::vector<Method> registry = build_registry();
  return registry;
}

const Method& find_method(const std::string& name) {
  for (const auto& method : method_registry()) {
    if (method.name == name) return method;
  }
  std::string known;
  for (const auto& method : method_registry()) known += (known.empty() ? "" : ", ") + method.name;
  fail("unknown method '{}' (known: {})", name, known);
}

}  // namespace tc::harness
