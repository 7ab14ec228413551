// tinycompress bench: the machine's limits (read bandwidth, fp32 FMA peak) and
// how close a model, after a method, gets to them in prefill and decode
// (the timing and the arithmetic are eval/bench_run.h's; this file reads the
// options and prints). Both limits are measured in the same run with the
// same threads (before and after the model, keeping the best), so the
// fractions compare like with like. With --compare-context, decode at a second, longer context runs
// alternately with the prompt's context in the same process (eval/context_pair.h), for the same
// reason. With --verify-tokens, a forward of that many tokens (a speculative
// verify pass) runs alternately with one decode step at the same context
// (eval/verify_cost.h).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "weights/weight_matrix.h"

#include "apps/cli_common.h"
#include "apps/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "decode/decoder.h"
#include "eval/bench_run.h"
#include "eval/context_pair.h"
#include "eval/dataset.h"
#include "eval/latency.h"
#include "eval/model_cost.h"
#include "eval/verify_cost.h"
#include "harness/methods.h"
#include "io/hf_config.h"
#include "io/hf_hub.h"
#include "profile/machine_limits.h"
#include "profile/paired_fraction.h"

namespace tc::apps {

namespace {

using nlohmann::json;

// Rounds the --compare-context decode alternates the two contexts in (at most
// one per step, so one step a round at the default 32 steps). A VM's hiccup
// then spoils one round's ratio, which the median of the rounds discards;
// in rounds of 4 steps it spoiled one in eight (0.28..1.34 around 0.9).
constexpr int64_t kContextRounds = 32;
// Where calibrating methods (GPTQ) find data when --calib-file is not given.
constexpr const char* kDefaultCalibration = "data/kdoc";

struct BenchOptions {
  bool machine = false;
  std::string model;
  std::string method = "fp32_cpu";
  std::string calib_file;
  int64_t prompt_len = 128;
  int64_t compare_context = 0;  // 0: off
  int64_t verify_tokens = 0;    // 0: off
  int64_t gen = 32;
  int64_t decode_parts = 4;
  int64_t repeats = 3;
  int64_t bandwidth_mib = 1024;
  size_t threads = 0;
  std::string kv_cache;          // empty: the method's
  std::string compare_kv_cache;  // empty: off
  bool json = false;
};

json rate_json(const profile::RateSamples& rate) {
  return {{"best", rate.best}, {"median", rate.median}, {"samples", rate.samples}};
}

json machine_json(const profile::MachineLimits& limits) {
  return {{"threads", limits.threads},
          {"isa", limits.isa},
          {"read_bandwidth_gbs", limits.read_bandwidth_gbs},
          {"fma_peak_gflops", limits.fma_peak_gflops},
          {"bandwidth_buffer_bytes", limits.bandwidth_bytes},
          {"read_bandwidth", rate_json(limits.read_bandwidth)},
          {"fma_peak", rate_json(limits.fma_peak)}};
}

void print_machine(const profile::MachineLimits& limits, const char* when = "") {
  std::printf("machine (%zu threads, %s%s)\n", limits.threads, limits.isa.c_str(), when);
  std::printf("  read bandwidth   %8.1f GB/s     (median %.1f; %zu passes over %.2f GB)\n",
              limits.read_bandwidth_gbs, limits.read_bandwidth.median,
              limits.read_bandwidth.samples.size(),
              static_cast<double>(limits.bandwidth_bytes) / 1e9);
  std::printf("  fp32 FMA peak    %8.1f GFLOP/s  (median %.1f; %zu repeats)\n",
              limits.fma_peak_gflops, limits.fma_peak.median, limits.fma_peak.samples.size());
}

profile::MachineLimits measure_limits(const BenchOptions& options, const char* when = "") {
  if (!options.json) {
    std::fprintf(stderr, "bench: measuring read bandwidth and FMA peak%s...\n", when);
  }
  return profile::measure_machine_limits(options.threads, static_cast<size_t>(options.bandwidth_mib)
                                                              << 20);
}

// Deterministic pseudo-random ids in [0, vocab) (SplitMix64, fixed seed), so
// every run and every method sees the same prompt.
std::vector<int32_t> bench_prompt(int64_t length, int64_t vocab) {
  uint64_t state = 0x5eed;
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < length; ++i) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    ids.push_back(static_cast<int32_t>(z % static_cast<uint64_t>(vocab)));
  }
  return ids;
}

std::string calibration_source(const BenchOptions& options) {
  if (!options.calib_file.empty()) return options.calib_file;
  if (std::filesystem::exists(kDefaultCalibration)) {
    return eval::choose_eval_dataset({kDefaultCalibration});
  }
  return "";  // methods that need data say so
}

// What the timed run does, from the command line and the method.
eval::BenchRunOptions run_options(const BenchOptions& options) {
  eval::BenchRunOptions run;
  run.repeats = options.repeats;
  run.gen = options.gen;
  run.decode_parts = options.decode_parts;
  return run;
}

// A decode run of `steps` steps (warm-up included) after a `flag` prompt of
// `prompt_len` tokens must stay within the model's positions.
void check_positions(const char* flag, int64_t prompt_len, const BenchOptions& options,
                     int64_t steps, const model::ModelConfig& config) {
  const int64_t positions = prompt_len + steps;
  if (config.max_position_embeddings > 0 && positions > config.max_position_embeddings) {
    fail(
        "{} {} + --gen {} + {} warm-up steps = {} positions, more than the model's "
        "max_position_embeddings {}",
        flag, prompt_len, options.gen, steps - options.gen, positions,
        config.max_position_embeddings);
  }
}

json context_pair_json(const BenchOptions& options, const eval::ContextPairTimings& timings,
                       const eval::ContextPairSummary& summary) {
  return {{"short_context", options.prompt_len},
          {"long_context", options.compare_context},
          {"round_steps", timings.round_steps},
          {"short_tok_s", summary.tok_s[0]},
          {"long_tok_s", summary.tok_s[1]},
          {"ratio", summary.ratio},
          {"round_ratios", summary.round_ratios},
          {"median_round_ratio", summary.median_round_ratio},
          {"samples",
           {{"short_step_seconds", timings.step_s[0]}, {"long_step_seconds", timings.step_s[1]}}}};
}

json kv_cache_pair_json(const std::string& kv_cache, const std::string& other, int64_t context,
                        const eval::ContextPairTimings& timings,
                        const eval::ContextPairSummary& summary) {
  return {{"context", context},
          {"kv_cache", kv_cache},
          {"other_kv_cache", other},
          {"round_steps", timings.round_steps},
          {"tok_s", summary.tok_s[0]},
          {"other_tok_s", summary.tok_s[1]},
          {"ratio", summary.ratio},
          {"round_ratios", summary.round_ratios},
          {"median_round_ratio", summary.median_round_ratio},
          {"samples",
           {{"step_seconds", timings.step_s[0]}, {"other_step_seconds", timings.step_s[1]}}}};
}

// The speed and ratio lines of a decoder pair (the second against the first).
void print_pair_speeds(const eval::ContextPairSummary& summary) {
  const auto [lowest, highest] =
      std::minmax_element(summary.round_ratios.begin(), summary.round_ratios.end());
  std::printf("  speed            %8.1f tok/s    against %.1f\n", summary.tok_s[1],
              summary.tok_s[0]);
  std::printf("  ratio            %8.3f          whole run %.3f; rounds %.3f..%.3f\n",
              summary.median_round_ratio, summary.ratio, *lowest, *highest);
}

void print_kv_cache_pair(const std::string& kv_cache, const std::string& other, int64_t context,
                         const eval::ContextPairTimings& timings,
                         const eval::ContextPairSummary& summary) {
  std::printf(
      "kv cache (decode at %ld tokens of context with a %s cache against a %s cache, %zu steps "
      "each, alternated in %zu rounds)\n",
      static_cast<long>(context), other.c_str(), kv_cache.c_str(), timings.step_s[0].size(),
      timings.round_steps.size());
  print_pair_speeds(summary);
}

void print_context_pair(const BenchOptions& options, const eval::ContextPairTimings& timings,
                        const eval::ContextPairSummary& summary) {
  std::printf(
      "context (decode after %ld against %ld prompt tokens, %zu steps each, alternated in %zu "
      "rounds)\n",
      static_cast<long>(options.compare_context), static_cast<long>(options.prompt_len),
      timings.step_s[0].size(), timings.round_steps.size());
  print_pair_speeds(summary);
}

json verify_cost_json(const eval::VerifyCostTimings& timings,
                      const eval::VerifyCostSummary& summary) {
  const auto stats = [](const eval::SampleStats& s) {
    return json{{"median", s.p50}, {"min", s.min}, {"max", s.max}};
  };
  return {{"tokens", timings.verify_tokens},
          {"context", timings.context},
          {"rounds", timings.verify_s.size()},
          {"verify_seconds", stats(summary.verify_s)},
          {"step_seconds", stats(summary.step_s)},
          {"ratio", summary.ratio},
          {"samples", {{"verify_seconds", timings.verify_s}, {"step_seconds", timings.step_s}}}};
}

void print_verify_cost(const eval::VerifyCostTimings& timings,
                       const eval::VerifyCostSummary& summary) {
  std::printf(
      "verify (a forward of %ld tokens against one decode step, both at %ld tokens of context, "
      "%zu rounds alternated)\n",
      static_cast<long>(timings.verify_tokens), static_cast<long>(timings.context),
      timings.verify_s.size());
  std::printf("  verify           %8.2f ms       median (%.2f..%.2f)\n", summary.verify_s.p50 * 1e3,
              summary.verify_s.min * 1e3, summary.verify_s.max * 1e3);
  std::printf("  decode step      %8.2f ms       median (%.2f..%.2f)\n", summary.step_s.p50 * 1e3,
              summary.step_s.min * 1e3, summary.step_s.max * 1e3);
  std::printf("  ratio            %8.3f          verify median / step median\n", summary.ratio);
}

void run_model_bench(const BenchOptions& options) {
  // Fail fast on a bad method, model or position count before the machine
  // measurement and the method's preparation, which take a minute or more.
  const harness::Method& method = harness::find_method(options.method);
  const std::string dir = io::resolve_model_dir(options.model);
  const std::string calibration = calibration_source(options);
  const model::ModelConfig file_config = io::load_hf_config(dir);
  const eval::BenchRunOptions run = run_options(options);
  const model::KvFormat kv_format =
      options.kv_cache.empty() ? method.kv_cache : model::parse_kv_format(options.kv_cache);
  const std::string kv_cache(model::kv_format_name(kv_format));
  check_positions("--prompt-len", options.prompt_len, options, eval::bench_decode_positions(run),
                  file_config);
  if (options.compare_context > 0) {
    check_positions("--compare-context", options.compare_context, options,
                    run.decode_warmup + options.gen, file_config);
  }
  const int64_t verify_positions = options.prompt_len + options.verify_tokens;
  if (file_config.max_position_embeddings > 0 &&
      verify_positions > file_config.max_position_embeddings) {
    fail(
        "--prompt-len {} + --verify-tokens {} = {} positions, more than the model's "
        "max_position_embeddings {}",
        options.prompt_len, options.verify_tokens, verify_positions,
        file_config.max_position_embeddings);
  }

  const profile::MachineLimits before = measure_limits(options);
  if (!options.json) {
    std::fprintf(stderr, "bench: preparing %s with %s...\n", dir.c_str(), method.name.c_str());
  }
  Stopwatch prepare_clock;
  harness::PreparedModel prepared = method.prepare({dir, calibration});
  const double prepare_seconds = prepare_clock.seconds();
  model::Qwen2Model& model = *prepared.model;
  const model::ModelConfig& config = model.config();

  if (!options.json) {
    std::fprintf(stderr,
                 "bench: %ld-token prefill x %ld (+1 warm-up), %ld decode steps in parts between "
                 "bandwidth probes...\n",
                 static_cast<long>(options.prompt_len), static_cast<long>(options.repeats),
                 static_cast<long>(options.gen));
  }
  const std::vector<int32_t> prompt = bench_prompt(options.prompt_len, config.vocab_size);
  profile::ReadBandwidthProbe probe(options.threads, static_cast<size_t>(options.bandwidth_mib)
                                                         << 20);
  const decode::DecoderOptions decoder_options{.kv_format = kv_format};
  const auto decoder = method.make_decoder(prepared, decoder_options);
  const eval::BenchTimings timings = eval::time_bench(*decoder, prompt, run, probe);
  std::optional<eval::ContextPairTimings> context_pair;
  if (options.compare_context > 0) {
    if (!options.json) {
      std::fprintf(
          stderr, "bench: decode at %ld and %ld tokens of context, alternated in rounds...\n",
          static_cast<long>(options.prompt_len), static_cast<long>(options.compare_context));
    }
    const eval::ContextPairOptions pair_options{options.gen, kContextRounds, run.decode_warmup};
    const auto short_decoder = method.make_decoder(prepared, decoder_options);
    const auto long_decoder = method.make_decoder(prepared, decoder_options);
    context_pair = eval::time_context_pair(*short_decoder, *long_decoder, prompt,
                                           bench_prompt(options.compare_context, config.vocab_size),
                                           pair_options);
  }
  // The same context through a cache of another format, alternated with
  // the bench's own format in one process.
  std::optional<eval::ContextPairTimings> kv_cache_pair;
  const std::string other_kv_cache = options.compare_kv_cache;
  if (!other_kv_cache.empty()) {
    if (!options.json) {
      std::fprintf(stderr,
                   "bench: decode at %ld tokens of context with a %s and a %s cache, alternated in "
                   "rounds...\n",
                   static_cast<long>(options.prompt_len), kv_cache.c_str(), other_kv_cache.c_str());
    }
    const eval::ContextPairOptions pair_options{options.gen, kContextRounds, run.decode_warmup};
    const auto own = method.make_decoder(prepared, decoder_options);
    const auto other = method.make_decoder(
        prepared, {.kv_format = model::parse_kv_format(other_kv_cache), .profile = nullptr});
    kv_cache_pair = eval::time_context_pair(*own, *other, prompt, prompt, pair_options);
  }
  std::optional<eval::VerifyCostTimings> verify_cost;
  if (options.verify_tokens > 0) {
    if (!options.json) {
      std::fprintf(stderr, "bench: a %ld-token forward against one decode step, alternated...\n",
                   static_cast<long>(options.verify_tokens));
    }
    // The verify tokens follow the prompt in the same pseudo-random sequence.
    const std::vector<int32_t> ids =
        bench_prompt(options.prompt_len + options.verify_tokens, config.vocab_size);
    const auto split = ids.begin() + options.prompt_len;
    verify_cost = eval::time_verify_cost(model, std::span(ids.begin(), split),
                                         std::span(split, ids.end()), options.gen, kv_format);
  }
  // Measured again after the model and pooled with the first: a neighbour
  // that held a core through one measurement rarely holds it through both.
  const profile::MachineLimits limits = profile::combine(before, measure_limits(options, " again"));

  const eval::ForwardFlops flops = eval::forward_flops(config, options.prompt_len);
  const size_t weight_bytes = eval::decode_weight_bytes_per_token(model);
  const eval::BenchSummary summary =
      eval::summarize_bench(timings, options.prompt_len, flops, weight_bytes, limits);
  const std::string weight_format(weights::weight_format_name(model.weight_format()));
  // Above 1 is no contradiction for decode when the weights fit in the CPU
  // caches (tiny models); otherwise other load disturbed a limit measurement.
  if (summary.decode_bandwidth_fraction > 1) {
    std::fprintf(stderr,
                 "bench: note: decode read %.1f MB of weights per token faster than the measured "
                 "memory bandwidth: they fit in the CPU caches, or other load disturbed the "
                 "bandwidth measurement\n",
                 static_cast<double>(weight_bytes) / 1e6);
  }
  if (summary.prefill_flops_fraction > 1) {
    std::fprintf(stderr,
                 "bench: warning: prefill ran above the measured FMA peak: other load disturbed "
                 "the peak measurement; rerun on a quiet machine\n");
  }

  std::optional<eval::ContextPairSummary> context_summary;
  if (context_pair) context_summary = eval::summarize_context_pair(*context_pair);
  std::optional<eval::ContextPairSummary> kv_cache_summary;
  if (kv_cache_pair) kv_cache_summary = eval::summarize_context_pair(*kv_cache_pair);
  std::optional<eval::VerifyCostSummary> verify_summary;
  if (verify_cost) verify_summary = eval::summarize_verify_cost(*verify_cost);

  if (options.json) {
    json out = {
        {"model", dir},
        {"method", method.name},
        {"weight_format", weight_format},
        {"threads", limits.threads},
        {"isa", limits.isa},
        {"prompt_len", options.prompt_len},
        {"kv_cache", kv_cache},
        {"gen", options.gen},
        {"repeats", options.repeats},
        {"prepare_seconds", prepare_seconds},
        {"weight_bytes", model.weight_bytes()},
        {"read_bandwidth_gbs", limits.read_bandwidth_gbs},
        {"fma_peak_gflops", limits.fma_peak_gflops},
        {"machine", machine_json(limits)},
        {"prefill_tok_s", summary.prefill_tok_s},
        {"prefill_tok_s_median", summary.prefill_tok_s_median},
        {"prefill_flops",
         {{"matmul", flops.matmul}, {"attention", flops.attention}, {"total", flops.total()}}},
        {"prefill_gflops", summary.prefill_gflops},
        {"prefill_flops_fraction", summary.prefill_flops_fraction},
        {"decode_tok_s", summary.decode_tok_s},
        {"decode_tok_s_median_step", 1.0 / summary.decode_median_step_s},
        {"decode_bytes_per_token", summary.decode_bytes_per_token},
        {"kv_bytes_per_token_read", summary.kv_bytes_per_token_read},
        {"kv_cache_bytes_per_position", timings.kv_bytes_per_position},
        {"decode_gbs", summary.decode_gbs},
        {"decode_bandwidth_fraction", summary.decode_bandwidth_fraction},
        {"decode_bandwidth_fraction_paired", summary.paired.median},
        {"decode_parts",
         {{"steps", timings.part_steps},
          {"gbs", summary.part_gbs},
          {"probe_gbs", timings.probe_gbs},
          {"fractions", summary.paired.fractions}}},
        {"samples",
         {{"prefill_warmup_seconds", timings.prefill_warmup_s},
          {"prefill_seconds", timings.prefill_s},
          {"decode_warmup_seconds", timings.decode_warmup_s},
          {"decode_step_seconds", timings.decode_step_s}}},
        {"data_used", prepared.data_used}};
    if (context_summary) {
      out["decode_context_ratio"] = context_summary->median_round_ratio;
      out["context_compare"] = context_pair_json(options, *context_pair, *context_summary);
    }
    if (kv_cache_summary) {
      out["kv_cache_compare"] = kv_cache_pair_json(kv_cache, other_kv_cache, options.prompt_len,
                                                   *kv_cache_pair, *kv_cache_summary);
    }
    if (verify_summary) out["verify_cost"] = verify_cost_json(*verify_cost, *verify_summary);
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  print_machine(limits, "; best of before and after the model");
  std::printf("model %s\n", dir.c_str());
  std::printf("  method           %s (weights %s, %.1f MB held, prepared in %.1f s)\n",
              method.name.c_str(), weight_format.c_str(),
              static_cast<double>(model.weight_bytes()) / 1e6, prepare_seconds);
  std::printf("prefill (%ld tokens, best of %ld; median in brackets)\n",
              static_cast<long>(options.prompt_len), static_cast<long>(options.repeats));
  std::printf("  speed            %8.1f tok/s    (%.1f)\n", summary.prefill_tok_s,
              summary.prefill_tok_s_median);
  std::printf("  work             %8.2f GFLOP    (matmul %.2f, attention %.3f)\n",
              static_cast<double>(flops.total()) / 1e9, static_cast<double>(flops.matmul) / 1e9,
              static_cast<double>(flops.attention) / 1e9);
  std::printf("  compute          %8.1f GFLOP/s  = %.1f%% of the FMA peak\n",
              summary.prefill_gflops, 100.0 * summary.prefill_flops_fraction);
  std::printf(
      "decode (%ld tokens after the prompt in %zu parts, %ld warm-up steps before them and %ld "
      "after each probe between them; %s KV cache)\n",
      static_cast<long>(options.gen), timings.part_steps.size(),
      static_cast<long>(run.decode_warmup), static_cast<long>(run.part_rewarm), kv_cache.c_str());
  std::printf("  speed            %8.1f tok/s    (median step %.2f ms)\n", summary.decode_tok_s,
              summary.decode_median_step_s * 1e3);
  std::printf("  weights read     %8.1f MB/token\n", static_cast<double>(weight_bytes) / 1e6);
  std::printf("  KV cache read    %8.3f MB/token   (on average over the timed steps)\n",
              summary.kv_bytes_per_token_read / 1e6);
  std::printf("  bandwidth        %8.1f GB/s     = %.1f%% of the read bandwidth\n",
              summary.decode_gbs, 100.0 * summary.decode_bandwidth_fraction);
  std::printf(
      "  paired           %8.1f%%          median of %zu parts (%.1f..%.1f%%), each "
      "against the bandwidth probes just before and after it\n",
      100.0 * summary.paired.median, summary.paired.fractions.size(), 100.0 * summary.paired.lowest,
      100.0 * summary.paired.highest);
  if (context_summary) print_context_pair(options, *context_pair, *context_summary);
  if (kv_cache_summary) {
    print_kv_cache_pair(kv_cache, other_kv_cache, options.prompt_len, *kv_cache_pair,
                        *kv_cache_summary);
  }
  if (verify_summary) print_verify_cost(*verify_cost, *verify_summary);
}

void run_bench(const BenchOptions& options) {
  ThreadPool::set_global_threads(options.threads);
  if (!options.model.empty()) {
    run_model_bench(options);
    return;
  }
  if (!options.machine) fail("bench: give --machine, or --model M to benchmark a model");
  const profile::MachineLimits limits = measure_limits(options);
  if (options.json) {
    std::printf("%s\n", machine_json(limits).dump().c_str());
  } else {
    print_machine(limits);
  }
}

}  // namespace

void register_bench(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand(
      "bench",
      "Measure the machine's limits (memory read bandwidth, fp32 FMA peak) and, with --model, "
      "prefill and decode speed of a model after a method, as fractions of those limits");
  CLI::Option* machine =
      command->add_flag("--machine", options->machine,
                        "Measure only the machine: multi-threaded streaming read bandwidth (GB/s) "
                        "and fp32 FMA peak (GFLOP/s)");
  command
      ->add_option("--model", options->model,
                   "Model folder (Hugging Face layout) or a Hugging Face id in the local cache; "
                   "measures the machine too, then prefill and decode")
      ->excludes(machine);
  command
      ->add_option("--method", options->method,
                   "Method from the registry that prepares the model (see docs/METHODS.md)")
      ->capture_default_str();
  command->add_option("--calib-file", options->calib_file,
                      "Data set folder or train-split file for methods that calibrate (GPTQ); "
                      "default: data/kdoc when it exists");
  command
      ->add_option("--prompt-len", options->prompt_len,
                   "Prompt tokens per prefill (pseudo-random ids with a fixed seed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  command
      ->add_option("--compare-context", options->compare_context,
                   "Also decode after a prompt of this many tokens, in the same process, in "
                   "rounds alternating with the --prompt-len context (--gen steps for each "
                   "context, one a round up to 32 rounds), and report its tok/s and their ratio "
                   "(decode_context_ratio: the median of the rounds' ratios, long over short); "
                   "0 = off")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
      ->capture_default_str();
  command
      ->add_option("--compare-kv-cache", options->compare_kv_cache,
                   "Also decode at the --prompt-len context with a cache of this format, in the "
                   "same process, in rounds alternating with the bench's own cache (--gen steps "
                   "each, one a round up to 32 rounds), and report both tok/s and their ratio "
                   "(kv_cache_compare.median_round_ratio: this format over the bench's)")
      ->check(CLI::IsMember({"f32", "f16", "int8"}));
  command
      ->add_option("--verify-tokens", options->verify_tokens,
                   "Also time a forward of this many tokens through the KV cache (a speculative "
                   "verify pass: K draft tokens + 1) against one decode step, both from the "
                   "prompt's context and cropped back, alternated in --gen rounds; reports the "
                   "median and min..max of each and verify_cost.ratio (median over median); "
                   "0 = off")
      ->check(CLI::Range(int64_t{0}, int64_t{64}))
      ->capture_default_str();
  command
      ->add_option("--gen", options->gen,
                   "Timed decode steps after a prefill (2 more warm-up steps are discarded)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  command
      ->add_option("--decode-parts", options->decode_parts,
                   "Parts the timed decode steps run in (at most one per step), with the read "
                   "bandwidth measured before, between and after them; each part is compared "
                   "with its own probes (decode_bandwidth_fraction_paired: the median), and one "
                   "untimed step follows each probe between parts")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}))
      ->capture_default_str();
  command
      ->add_option("--repeats", options->repeats,
                   "Timed prefills after one warm-up prefill; the best and the median are reported")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}))
      ->capture_default_str();
  command
      ->add_option("--bandwidth-mib", options->bandwidth_mib,
                   "Size of the buffer the bandwidth test reads, MiB (keep far above the "
                   "last-level cache)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  add_kv_cache_option(*command, options->kv_cache)->default_str("the method's");
  command
      ->add_option("--threads", options->threads,
                   "Threads for the measurements and the kernels (0 = one per hardware thread)")
      ->capture_default_str();
  command->add_flag("--json", options->json,
                    "Print one JSON object (rates, fractions, per-repeat samples) instead of a "
                    "readable block; no progress lines");
  command->callback([options] { run_bench(*options); });
}

}  // namespace tc::apps
