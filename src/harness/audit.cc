#include "harness/audit.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "core/sha256.h"
#include "eval/attention_bench.h"
#include "io/xz_reader.h"

namespace tc::harness {

namespace {

// Statistics must be recomputable from the samples to this relative
// precision (the writer stores doubles; only printing can round them).
constexpr double kStatTolerance = 1e-6;

bool close(double a, double b, double relative) {
  const double diff = std::fabs(a - b);
  return diff <= relative * std::max(std::fabs(a), std::fabs(b)) || diff <= 1e-12;
}

// Files that read as a record: their fields mean what the schema says. Only
// `schema` looks at the others (and reports them).
const ResultRecord* record_of(const ResultFile& file) {
  return file.record ? &*file.record : nullptr;
}

bool status_ok(const ResultFile& file) { return file.record && file.record->status == "ok"; }

std::string show_number(double value) { return fmt::format("{:.9g}", value); }

// Reports violations of one rule for one file.
struct Report {
  AuditContext& context;
  const std::string& path;
  std::string_view rule;
  void operator()(std::string detail) const { context.report(path, rule, std::move(detail)); }
};

using FileCheck = void (*)(const ResultFile& file, AuditContext& context, const Report& report);

// Adapts a per-file check to the rule table.
template <FileCheck Check>
void for_each_file(AuditContext& context, std::string_view name) {
  for (const ResultFile& file : context.files()) {
    Check(file, context, Report{context, file.path, name});
  }
}

// --- schema -----------------------------------------------------------------

/// schema: the file parses and reads as a record (harness/result_record):
/// schema_version is one this build reads (a newer major is refused, not
/// guessed at), every field is there with its type; and the record passes
/// validate_result: the status is one its version allows, a failed cell has
/// an error, an ok cell has what its version requires (latency, generation,
/// perplexity, memory, size, ...), no number is negative, and model.name and
/// method.name match the file's path.
void check_schema(const ResultFile& file, AuditContext&, const Report& report) {
  if (!file.parse_error.empty()) {
    report("cannot parse: " + file.parse_error);
    return;
  }
  for (const std::string& problem : file.problems) report(problem);
  if (const ResultRecord* record = record_of(file)) {
    for (const std::string& problem : validate_result(*record, file.model, file.method)) {
      report(problem);
    }
  }
}

// --- hardware ---------------------------------------------------------------

/// hardware: the hardware snapshot is there and names the CPU model and the
/// git revision of the build ("unknown" counts as missing): a number that
/// cannot be traced to a machine and a build cannot be compared.
void check_hardware(const ResultFile& file, AuditContext&, const Report& report) {
  const ResultRecord* record = record_of(file);
  if (record == nullptr) return;
  if (!record->hardware.is_object()) {
    report("no hardware snapshot (hardware missing or not an object)");
    return;
  }
  if (cpu_model_of(*record).empty()) report("hardware snapshot without a CPU model");
  if (git_revision_of(*record).empty()) report("hardware snapshot without a git revision");
}

// --- warmup -----------------------------------------------------------------

// The checks of one timed measurement (latency, an attention run), its
// fields named from `where`: at least one warm-up call, the counts match
// the lists, and every statistic in `ms` (mean, min, max, p50, p90, p99;
// numpy's linear percentiles) is recomputable from samples_ms alone, which
// catches warm-up runs folded into the statistics.
template <class Timed>
void check_timed(const Timed& timed, const std::string& where, const Report& report) {
  if (timed.n_warmup < 1) {
    report(fmt::format("{}.n_warmup is {}: at least one warm-up run must be discarded", where,
                       timed.n_warmup));
  }
  if (static_cast<int64_t>(timed.warmup_ms.size()) != timed.n_warmup) {
    report(fmt::format("{}.warmup_ms has {} entries, n_warmup is {}", where, timed.warmup_ms.size(),
                       timed.n_warmup));
  }
  const std::vector<double>& samples = timed.samples_ms;
  if (static_cast<int64_t>(samples.size()) != timed.n_iters) {
    report(fmt::format("{}.samples_ms has {} entries, n_iters is {}", where, samples.size(),
                       timed.n_iters));
  }
  if (samples.empty()) {
    report(where + ".samples_ms is empty: no statistic can be recomputed");
    return;
  }
  double sum = 0;
  for (double sample : samples) sum += sample;
  const LatencyStatsRecord& ms = timed.ms;
  const std::tuple<const char*, double, double> stats[] = {
      {"mean", ms.mean, sum / static_cast<double>(samples.size())},
      {"min", ms.min, *std::min_element(samples.begin(), samples.end())},
      {"max", ms.max, *std::max_element(samples.begin(), samples.end())},
      {"p50", ms.p50, percentile_linear(samples, 50)},
      {"p90", ms.p90, percentile_linear(samples, 90)},
      {"p99", ms.p99, percentile_linear(samples, 99)},
  };
  for (const auto& [key, stored, expected] : stats) {
    if (!close(stored, expected, kStatTolerance)) {
      report(
          fmt::format("{}.ms.{} is {} but samples_ms alone give {} (warm-up or other "
                      "runs folded into the statistics?)",
                      where, key, show_number(stored), show_number(expected)));
    }
  }
}

/// warmup: at least one warm-up iteration, discarded and listed apart:
/// warmup_ms has n_warmup entries, samples_ms has n_iters, and every
/// statistic in latency.ms (mean, min, max, p50, p90, p99; numpy's linear
/// percentiles) is recomputable from samples_ms alone, which catches warm-up
/// runs folded into the statistics.
void check_warmup(const ResultFile& file, AuditContext&, const Report& report) {
  const ResultRecord* record = record_of(file);
  if (record == nullptr || !record->latency) return;
  check_timed(*record->latency, "latency", report);
}

// --- ppl_split --------------------------------------------------------------

/// ppl_split: perplexity is measured on the test split ("text" is accepted
/// for the plain-text dataset "text") and records its dataset and file.
void check_ppl_split(const ResultFile& file, AuditContext&, const Report& report) {
  const ResultRecord* record = record_of(file);
  if (record == nullptr || !record->perplexity) return;
  const PerplexityRecord& perplexity = *record->perplexity;
  const std::optional<std::string>& dataset = perplexity.dataset;
  if (!dataset || dataset->empty()) report("perplexity.dataset not recorded");
  if (!perplexity.file || perplexity.file->empty()) report("perplexity.file not recorded");
  const std::optional<std::string>& split = perplexity.split;
  if (!split) {
    report("perplexity.split not recorded");
  } else if (*split != "test" && !(*split == "text" && dataset && *dataset == "text")) {
    report(
        fmt::format("perplexity.split is \"{}\": perplexity must be measured on the test "
                    "split (\"text\" only for the plain-text dataset \"text\")",
                    *split));
  }
}

// --- data_split -------------------------------------------------------------

/// data_split: every data set a method read (data_used) is a train split;
/// the file still has the recorded sha256 (of the bytes `hashed` names) and
/// every recorded window re-reads from it (.xz decompressed) with its sha256; and no window's text
/// occurs in the evaluation file (perplexity.file), so no method saw the text it is scored on.
void check_data_split(const ResultFile& file, AuditContext& context, const Report& report) {
  const ResultRecord* record = record_of(file);
  if (record == nullptr) return;
  const std::vector<DataUseRecord>& data_used = record->data_used;
  const std::optional<std::string> eval_path =
      record->perplexity ? record->perplexity->file : std::nullopt;
  const std::string* eval_text = nullptr;
  if (eval_path && !eval_path->empty() && !data_used.empty()) {
    try {
      eval_text = &context.data_text(*eval_path);
    } catch (const std::exception& e) {
      report(fmt::format("cannot read the evaluation file to check for overlap: {}", e.what()));
    }
  }
  for (size_t i = 0; i < data_used.size(); ++i) {
    const DataUseRecord& entry = data_used[i];
    const std::string where = fmt::format("data_used[{}]", i);
    if (entry.split != "train") {
      report(fmt::format("{} ({}) uses split \"{}\", expected \"train\"", where, entry.dataset,
                         entry.split));
    }
    const std::string& path = entry.file;
    if (entry.windows.empty() && !entry.hashed) continue;
    const std::string* text = nullptr;
    try {
      text = &context.data_text(path);
    } catch (const std::exception& e) {
      report(fmt::format("{}: cannot re-read {}: {}", where, path, e.what()));
      continue;
    }
    // The whole file's hash, when the entry says which bytes it hashed (older
    // files do not). Windows are offsets into the same bytes: the text of a
    // .xz file, the bytes of any other.
    const char* readable_bytes = path.ends_with(".xz") ? "decompressed_text" : "file_bytes";
    const std::optional<std::string>& hashed = entry.hashed;
    if (hashed && (*hashed == "file_bytes" || *hashed == "decompressed_text")) {
      if (*hashed != readable_bytes) {
        report(
            fmt::format("{}.hashed is \"{}\", but the audit re-reads {} as {} (its windows "
                        "are offsets into those bytes)",
                        where, *hashed, path, readable_bytes));
      } else if (context.data_sha256(path) != entry.sha256) {
        report(fmt::format("{}.sha256 {} but {} ({}) hashes to {}", where, entry.sha256, path,
                           *hashed, context.data_sha256(path)));
      }
    }
    for (size_t j = 0; j < entry.windows.size(); ++j) {
      const DataWindowRecord& window = entry.windows[j];
      if (window.byte_offset < 0 || window.byte_length < 0) continue;  // schema reports it
      const std::string name = fmt::format("{}.windows[{}]", where, j);
      const uint64_t begin = static_cast<uint64_t>(window.byte_offset);
      const uint64_t size = static_cast<uint64_t>(window.byte_length);
      if (size == 0) {
        report(name + " is empty");
        continue;
      }
      if (begin > text->size() || size > text->size() - begin) {
        report(fmt::format("{} bytes [{}, {}) lie beyond the end of {} ({} bytes)", name, begin,
                           begin + size, path, text->size()));
        continue;
      }
      const std::string_view slice(text->data() + begin, size);
      const std::string actual = context.options().sha256_hex(slice);
      if (actual != window.sha256) {
        report(fmt::format("{} sha256 {} but bytes [{}, {}) of {} hash to {}", name, window.sha256,
                           begin, begin + size, path, actual));
      }
      if (eval_text != nullptr) {
        const size_t found = eval_text->find(slice);
        if (found != std::string::npos) {
          report(
              fmt::format("{} (bytes [{}, {}) of {}) occurs in the evaluation file {} at "
                          "byte {}",
                          name, begin, begin + size, path, *eval_path, found));
        }
      }
    }
  }
}

// --- compile_first_run ------------------------------------------------------

/// compile_first_run: a compile_* method records its first (compiling) run
/// as compile.first_run_ms and keeps it out of latency: the value is not one
/// of latency.samples_ms or warmup_ms, and latency.ms.mean is the mean of
/// samples_ms. Other methods leave `compile` null.
void check_compile_first_run(const ResultFile& file, AuditContext&, const Report& report) {
  if (!status_ok(file)) return;
  const ResultRecord& record = *file.record;
  if (!file.method.starts_with("compile_")) {
    if (record.compile) report("compile is set, but only compile_* methods have a compile step");
    return;
  }
  if (!record.compile || !record.compile->first_run_ms) {
    report("compile.first_run_ms missing: the first (compiling) run must be recorded apart");
    return;
  }
  const double first_ms = *record.compile->first_run_ms;
  if (!record.latency) return;
  const LatencyRecord& latency = *record.latency;
  const std::pair<const char*, const std::vector<double>*> lists[] = {
      {"samples_ms", &latency.samples_ms}, {"warmup_ms", &latency.warmup_ms}};
  for (const auto& [key, values] : lists) {
    for (size_t i = 0; i < values->size(); ++i) {
      if (close((*values)[i], first_ms, 1e-12)) {
        report(
            fmt::format("compile.first_run_ms {} is also latency.{}[{}]: the first run must "
                        "not be timed as a forward pass",
                        show_number(first_ms), key, i));
      }
    }
  }
  if (!latency.samples_ms.empty()) {
    double sum = 0;
    for (double sample : latency.samples_ms) sum += sample;
    const double expected = sum / static_cast<double>(latency.samples_ms.size());
    if (!close(latency.ms.mean, expected, kStatTolerance)) {
      report(
          fmt::format("latency.ms.mean {} is not the mean of samples_ms ({}): first run "
                      "folded in?",
                      show_number(latency.ms.mean), show_number(expected)));
    }
  }
}

// --- attention --------------------------------------------------------------

// The checks of one measured kernel's runs against the section's lengths
// and head shape.
void check_kernel_runs(const AttentionRecord& attention, const std::string& name,
                       const AttentionKernelRecord& kernel, const Report& report) {
  const std::string where = "attention.kernels." + name;
  std::vector<int64_t> tokens;
  for (const AttentionRunRecord& run : kernel.runs) tokens.push_back(run.tokens);
  if (tokens != attention.lengths) {
    report(fmt::format("{} is measured at [{}] tokens, attention.lengths is [{}]", where,
                       fmt::join(tokens, ", "), fmt::join(attention.lengths, ", ")));
  }
  for (size_t i = 0; i < kernel.runs.size(); ++i) {
    const AttentionRunRecord& run = kernel.runs[i];
    const std::string at = fmt::format("{}.runs[{}]", where, i);
    check_timed(run, at, report);
    for (size_t j = 0; j < run.samples_ms.size(); ++j) {
      if (run.samples_ms[j] <= 0) {
        report(fmt::format("{}.samples_ms[{}] is {}: a timed call takes time", at, j,
                           show_number(run.samples_ms[j])));
      }
    }
    if (run.queries < 1 || run.queries > run.tokens) {
      report(
          fmt::format("{}.queries is {}, expected 1 to tokens ({})", at, run.queries, run.tokens));
    } else {
      const int64_t flops =
          eval::attention_flops(attention.heads, attention.head_dim, run.tokens, run.queries);
      if (run.flops != flops) {
        report(
            fmt::format("{}.flops is {}, but {} queries ending at position {} over {} heads "
                        "of {} count {}",
                        at, run.flops, run.queries, run.tokens - 1, attention.heads,
                        attention.head_dim, flops));
      }
    }
    if (run.ms.p50 > 0) {
      const double gflop_s = static_cast<double>(run.flops) / (run.ms.p50 * 1e6);
      if (!close(run.gflop_s, gflop_s, kStatTolerance)) {
        report(fmt::format("{}.gflop_s is {} but flops / ms.p50 give {}", at,
                           show_number(run.gflop_s), show_number(gflop_s)));
      }
    }
    if (name == eval::kNaiveKernel) continue;
    if (!run.max_abs_diff_vs_naive) {
      report(at + ".max_abs_diff_vs_naive missing: a fast kernel is checked against the naive one");
    } else if (*run.max_abs_diff_vs_naive > eval::kAttentionAgreement) {
      report(fmt::format(
          "{}.max_abs_diff_vs_naive is {}, more than {}: the kernel disagrees with "
          "the naive one",
          at, show_number(*run.max_abs_diff_vs_naive), show_number(eval::kAttentionAgreement)));
    }
  }
}

/// attention: an attention section (the attn_bench rows) has every kernel
/// slot (naive, tiled_online_softmax, split_k_decode, cuda_flash,
/// cuda_efficient, cudnn_sdpa) and no other. Each holds "unavailable:
/// <reason>" or its measurements, and `naive`, which runs on every CPU, is
/// measured. A measured kernel has one run per length of attention.lengths,
/// each with a warm-up call, positive times and statistics recomputable
/// from samples_ms, its FLOPs as counted for its queries and the head shape,
/// gflop_s = flops / ms.p50, and (but for naive) its agreement with the
/// naive kernel recorded and within eval::kAttentionAgreement.
void check_attention(const ResultFile& file, AuditContext&, const Report& report) {
  const ResultRecord* record = record_of(file);
  if (record == nullptr || !record->attention) return;
  const AttentionRecord& attention = *record->attention;
  const std::vector<std::string>& slots = eval::attention_kernel_slots();
  for (const auto& [name, slot] : attention.kernels) {
    if (std::find(slots.begin(), slots.end(), name) == slots.end()) {
      report(fmt::format("attention.kernels.{} is not a kernel slot (the slots: {})", name,
                         fmt::join(slots, ", ")));
    }
  }
  for (const std::string& name : slots) {
    const auto it = attention.kernels.find(name);
    if (it == attention.kernels.end()) {
      report(
          fmt::format("attention.kernels.{} missing: every slot is written, measured or "
                      "\"unavailable: <reason>\"",
                      name));
      continue;
    }
    if (const auto* kernel = std::get_if<AttentionKernelRecord>(&it->second)) {
      check_kernel_runs(attention, name, *kernel, report);
      continue;
    }
    const std::string& reason = std::get<std::string>(it->second);
    if (name == eval::kNaiveKernel) {
      report(
          fmt::format("attention.kernels.naive is {}: the naive kernel runs on every CPU and "
                      "must be measured",
                      nlohmann::json(reason).dump()));
    } else if (!reason.starts_with(eval::kUnavailablePrefix) ||
               reason.size() == std::string_view(eval::kUnavailablePrefix).size()) {
      report(
          fmt::format("attention.kernels.{} is {}: a kernel that did not run says "
                      "\"unavailable: <reason>\"",
                      name, nlohmann::json(reason).dump()));
    }
  }
}

// --- kv_probe ---------------------------------------------------------------

// Bytes per token of a KV-cache format by its definition, from the model's
// shape: keys and values of every layer and kv head, plus int8's two fp16
// scales per layer and kv head; nullopt for a format name it does not know.
std::optional<int64_t> kv_bytes_per_token(const ModelConfigRecord& c, const std::string& format) {
  const int64_t elements = c.num_layers * 2 * c.num_kv_heads * c.head_dim;
  if (format == "f32") return elements * 4;
  if (format == "f16") return elements * 2;
  if (format == "int8") return elements + c.num_layers * 2 * c.num_kv_heads * 2;
  return std::nullopt;
}

/// kv_probe: at every rung the cache holds what the format's definition
/// says: analytic_bytes_per_token recomputed from the model's shape,
/// analytic_bytes = it × tokens, measured_bytes (the cache's own count) =
/// analytic_bytes, allocated_bytes >= measured_bytes; and the probe covers
/// the f32, f16 and int8 formats.
void check_kv_probe(const ResultFile& file, AuditContext&, const Report& report) {
  if (!status_ok(file) || !file.record->kv_probe) return;
  const ResultRecord& record = *file.record;
  const std::vector<KvProbeRungRecord>& rungs = record.kv_probe->rungs;
  for (const char* format : {"f32", "f16", "int8"}) {
    if (std::none_of(rungs.begin(), rungs.end(),
                     [&](const KvProbeRungRecord& r) { return r.kv_format == format; }))
      report(fmt::format("kv_probe has no rung for the {} cache", format));
  }
  for (size_t i = 0; i < rungs.size(); ++i) {
    const KvProbeRungRecord& r = rungs[i];
    const std::string where =
        fmt::format("kv_probe.rungs[{}] ({} at {} tokens)", i, r.kv_format, r.tokens);
    const std::optional<int64_t> per_token =
        record.model.config ? kv_bytes_per_token(*record.model.config, r.kv_format) : std::nullopt;
    if (!per_token) {
      report(
          fmt::format("{}: cannot recompute the bytes per token (unknown format or no "
                      "model.config)",
                      where));
    } else if (r.analytic_bytes_per_token != *per_token) {
      report(fmt::format("{}: analytic_bytes_per_token {}, the model's shape gives {}", where,
                         r.analytic_bytes_per_token, *per_token));
    }
    if (r.analytic_bytes != r.analytic_bytes_per_token * r.tokens) {
      report(fmt::format("{}: analytic_bytes {} is not analytic_bytes_per_token x tokens ({})",
                         where, r.analytic_bytes, r.analytic_bytes_per_token * r.tokens));
    }
    if (r.measured_bytes != r.analytic_bytes) {
      report(fmt::format("{}: the cache counts {} bytes, the analytic size is {} ({})", where,
                         r.measured_bytes, r.analytic_bytes,
                         r.measured_bytes > r.analytic_bytes ? "over-count" : "under-count"));
    }
    if (r.allocated_bytes < r.measured_bytes) {
      report(fmt::format("{}: allocated_bytes {} is less than the {} bytes held", where,
                         r.allocated_bytes, r.measured_bytes));
    }
  }
}

/// kv_comparison: the stored ratios and counts follow from the stored
/// numbers: bytes_ratio = bytes_per_token / baseline_bytes_per_token,
/// prompts = the per_prompt entries, prompts_identical <= prompts, and no
/// identical_prefix longer than its generation.
void check_kv_comparison(const ResultFile& file, AuditContext&, const Report& report) {
  if (!status_ok(file) || !file.record->kv_comparison) return;
  const KvComparisonRecord& c = *file.record->kv_comparison;
  if (c.baseline_bytes_per_token <= 0 || !close(c.bytes_ratio,
                                                static_cast<double>(c.bytes_per_token) /
                                                    static_cast<double>(c.baseline_bytes_per_token),
                                                kStatTolerance)) {
    report(
        fmt::format("kv_comparison.bytes_ratio {} is not bytes_per_token / "
                    "baseline_bytes_per_token ({} / {})",
                    show_number(c.bytes_ratio), c.bytes_per_token, c.baseline_bytes_per_token));
  }
  if (c.prompts != static_cast<int64_t>(c.per_prompt.size())) {
    report(fmt::format("kv_comparison.prompts {} but {} per_prompt entries", c.prompts,
                       c.per_prompt.size()));
  }
  if (c.prompts_identical > c.prompts) {
    report(fmt::format("kv_comparison.prompts_identical {} exceeds prompts {}", c.prompts_identical,
                       c.prompts));
  }
  for (size_t i = 0; i < c.per_prompt.size(); ++i) {
    const KvComparisonPromptRecord& p = c.per_prompt[i];
    if (p.identical_prefix > p.new_tokens) {
      report(fmt::format("kv_comparison.per_prompt[{}].identical_prefix {} exceeds new_tokens {}",
                         i, p.identical_prefix, p.new_tokens));
    }
  }
}

// --- speculative ------------------------------------------------------------

// The rate, the totals and the speed-up are computed from doubles the file
// stores exactly: only a writer that disagrees with itself misses this.
constexpr double kRecomputeTolerance = 1e-9;

/// speculative: a speculative row's numbers agree with each other: the
/// totals (proposed, accepted, new tokens, seconds) are the sums of
/// per_prompt; accept_rate is within [0, 1] and equals accepted / proposed
/// (0 when nothing was proposed), and no prompt accepted more than it
/// proposed; spec_tok_s and target_only_tok_s are the tokens over the
/// seconds; wallclock_speedup is target_only_seconds / spec_seconds.
void check_speculative(const ResultFile& file, AuditContext&, const Report& report) {
  const ResultRecord* record = record_of(file);
  if (record == nullptr || !record->speculative) return;
  const SpeculativeRecord& spec = *record->speculative;
  SpeculativePromptRecord sums;
  for (size_t i = 0; i < spec.per_prompt.size(); ++i) {
    const SpeculativePromptRecord& prompt = spec.per_prompt[i];
    if (prompt.accepted > prompt.proposed) {
      report(fmt::format("speculative.per_prompt[{}] accepted {} of {} proposed", i,
                         prompt.accepted, prompt.proposed));
    }
    sums.proposed += prompt.proposed;
    sums.accepted += prompt.accepted;
    sums.new_tokens += prompt.new_tokens;
    sums.target_only_new_tokens += prompt.target_only_new_tokens;
    sums.spec_seconds += prompt.spec_seconds;
    sums.target_only_seconds += prompt.target_only_seconds;
  }
  const std::tuple<const char*, double, double> totals[] = {
      {"proposed", static_cast<double>(spec.proposed), static_cast<double>(sums.proposed)},
      {"accepted", static_cast<double>(spec.accepted), static_cast<double>(sums.accepted)},
      {"new_tokens", static_cast<double>(spec.new_tokens), static_cast<double>(sums.new_tokens)},
      {"target_only_new_tokens", static_cast<double>(spec.target_only_new_tokens),
       static_cast<double>(sums.target_only_new_tokens)},
      {"spec_seconds", spec.spec_seconds, sums.spec_seconds},
      {"target_only_seconds", spec.target_only_seconds, sums.target_only_seconds},
  };
  for (const auto& [key, stored, sum] : totals) {
    if (!close(stored, sum, kRecomputeTolerance)) {
      report(fmt::format("speculative.{} is {} but per_prompt sums to {}", key, show_number(stored),
                         show_number(sum)));
    }
  }
  if (spec.accept_rate > 1) {
    report(
        fmt::format("speculative.accept_rate {} is outside [0, 1]", show_number(spec.accept_rate)));
  }
  const auto ratio = [](double over, double under) { return under > 0 ? over / under : 0.0; };
  const std::tuple<const char*, double, double, const char*> derived[] = {
      {"accept_rate", spec.accept_rate,
       ratio(static_cast<double>(spec.accepted), static_cast<double>(spec.proposed)),
       "accepted / proposed"},
      {"spec_tok_s", spec.spec_tok_s,
       ratio(static_cast<double>(spec.new_tokens), spec.spec_seconds), "new_tokens / spec_seconds"},
      {"target_only_tok_s", spec.target_only_tok_s,
       ratio(static_cast<double>(spec.target_only_new_tokens), spec.target_only_seconds),
       "target_only_new_tokens / target_only_seconds"},
      {"wallclock_speedup", spec.wallclock_speedup,
       ratio(spec.target_only_seconds, spec.spec_seconds), "target_only_seconds / spec_seconds"},
  };
  for (const auto& [key, stored, expected, formula] : derived) {
    if (!close(stored, expected, kRecomputeTolerance)) {
      report(fmt::format("speculative.{} is {} but {} gives {}", key, show_number(stored), formula,
                         show_number(expected)));
    }
  }
}

// --- fp32_baseline ----------------------------------------------------------

/// fp32_baseline: every model with any ok row has an ok fp32_cpu row, the
/// baseline every Δ and speed-up is computed against.
void check_fp32_baseline(AuditContext& context, std::string_view name) {
  std::map<std::string, std::vector<std::string>> ok_methods;
  std::map<std::string, const ResultFile*> baselines;
  for (const ResultFile& file : context.files()) {
    if (status_ok(file)) ok_methods[file.model].push_back(file.method);
    if (file.method == "fp32_cpu") baselines[file.model] = &file;
  }
  for (const auto& [model, methods] : ok_methods) {
    const auto it = baselines.find(model);
    const ResultFile* baseline = it == baselines.end() ? nullptr : it->second;
    if (baseline != nullptr && status_ok(*baseline)) continue;
    const std::string why = baseline == nullptr               ? "missing"
                            : record_of(*baseline) == nullptr ? "unreadable"
                                                              : "not ok";
    const std::string path =
        (std::filesystem::path(context.root()) / model / "fp32_cpu.json").string();
    context.report(path, name,
                   fmt::format("{}: model {} has ok rows ({}) but no ok fp32_cpu baseline", why,
                               model, fmt::join(methods, ", ")));
  }
}

// --- one_revision -----------------------------------------------------------

/// one_revision: every file comes from one build (hardware git revision);
/// tables that mix builds compare code that no longer exists side by side.
/// --allow-mixed-revisions turns this off.
void check_one_revision(AuditContext& context, std::string_view name) {
  if (context.options().allow_mixed_revisions) return;
  std::map<std::string, std::vector<std::string>> files_by_revision;
  for (const ResultFile& file : context.files()) {
    const ResultRecord* record = record_of(file);
    if (record == nullptr) continue;
    const std::string revision = git_revision_of(*record);
    if (!revision.empty()) files_by_revision[revision].push_back(file.path);
  }
  if (files_by_revision.size() <= 1) return;
  std::vector<std::string> parts;
  for (const auto& [revision, paths] : files_by_revision) {
    constexpr size_t kShown = 3;
    std::vector<std::string> shown(paths.begin(), paths.begin() + std::min(kShown, paths.size()));
    parts.push_back(fmt::format("{} ({} file{}: {}{})", revision, paths.size(),
                                paths.size() == 1 ? "" : "s", fmt::join(shown, ", "),
                                paths.size() > kShown ? ", ..." : ""));
  }
  context.report(context.root(), name,
                 fmt::format("{} git revisions in one set of results: {}", files_by_revision.size(),
                             fmt::join(parts, "; ")));
}

}  // namespace

std::string format_violation(const Violation& violation) {
  return fmt::format("{}: {}: {}", violation.path, violation.rule, violation.detail);
}

std::string AuditOptions::read_data_text(const std::string& path) {
  if (path.ends_with(".xz")) return io::read_xz_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open file", path);
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) fail("{}: read failed", path);
  return content.str();
}

std::string AuditOptions::default_sha256_hex(std::string_view text) { return tc::sha256_hex(text); }

const std::string& AuditContext::data_text(const std::string& path) {
  if (const auto it = texts_.find(path); it != texts_.end()) return it->second;
  if (const auto it = read_errors_.find(path); it != read_errors_.end()) throw Error(it->second);
  try {
    return texts_.emplace(path, options_.read_text(path)).first->second;
  } catch (const std::exception& e) {
    read_errors_.emplace(path, e.what());
    throw;
  }
}

const std::string& AuditContext::data_sha256(const std::string& path) {
  if (const auto it = hashes_.find(path); it != hashes_.end()) return it->second;
  const std::string& text = data_text(path);
  return hashes_.emplace(path, options_.sha256_hex(text)).first->second;
}

void AuditContext::report(const std::string& path, std::string_view rule, std::string detail) {
  violations_.push_back({path, std::string(rule), std::move(detail)});
}

const std::vector<AuditRule>& audit_rules() {
  static const std::vector<AuditRule> rules = {
      {"schema", "the file parses and matches docs/RESULTS_SCHEMA.md", for_each_file<check_schema>},
      {"hardware", "the hardware snapshot names the CPU and the git revision",
       for_each_file<check_hardware>},
      {"warmup", "warm-up discarded; latency statistics recomputable from samples_ms",
       for_each_file<check_warmup>},
      {"ppl_split", "perplexity on the test split, dataset and file recorded",
       for_each_file<check_ppl_split>},
      {"data_split", "methods read train splits only; windows re-read, not in the eval file",
       for_each_file<check_data_split>},
      {"compile_first_run", "compile_* rows keep the first run out of latency",
       for_each_file<check_compile_first_run>},
      {"attention",
       "attention kernel slots all there, each measured at every length or unavailable",
       for_each_file<check_attention>},
      {"kv_probe", "KV-probe bytes: analytic = measured (the cache's count) <= allocated",
       for_each_file<check_kv_probe>},
      {"kv_comparison", "KV-cache comparison ratios and counts recomputable",
       for_each_file<check_kv_comparison>},
      {"speculative", "speculative rows: rate, totals and speed-up recomputable from per_prompt",
       for_each_file<check_speculative>},
      {"fp32_baseline", "every model with results has an ok fp32_cpu row", check_fp32_baseline},
      {"one_revision", "all results come from one git revision", check_one_revision},
  };
  return rules;
}

std::vector<Violation> audit_files(const std::vector<ResultFile>& files, const std::string& root,
                                   const AuditOptions& options) {
  AuditContext context(files, root, options);
  for (const AuditRule& rule : audit_rules()) rule.check(context, rule.name);
  std::vector<Violation> violations = std::move(context.violations());
  // By file, keeping the rule order within a file.
  std::stable_sort(violations.begin(), violations.end(),
                   [](const Violation& a, const Violation& b) { return a.path < b.path; });
  return violations;
}

AuditReport audit_results(const std::string& results_dir, const AuditOptions& options) {
  const std::vector<ResultFile> files = read_results(results_dir);
  return {files.size(), audit_files(files, raw_dir(results_dir), options)};
}

double percentile_linear(std::vector<double> values, double q) {
  if (values.empty()) fail("percentile of an empty list");
  std::sort(values.begin(), values.end());
  const double position = q / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lower = static_cast<size_t>(std::floor(position));
  const size_t upper = std::min(lower + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(lower);
  return values[lower] + (values[upper] - values[lower]) * fraction;
}

}  // namespace tc::harness
