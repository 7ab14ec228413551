#include "harness/tables.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/attention_bench.h"
#include "io/atomic_file.h"

namespace tc::harness {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kMissing = "—";
constexpr const char* kNoBaseline = "no fp32 baseline";
constexpr size_t kShortErrorBytes = 80;

bool one_of(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

enum Column {
  kMethod,
  kStatus,
  kWeightMb,
  kDiskMb,
  kP50Ms,
  kDecodeTokS,
  kPrefillTokS,
  kPpl,
  kDeltaPpl,
  kDeltaPplPercent,
  kSpeedup,
  kPeakRssMb,
  kColumnCount,
};

const std::vector<std::string>& column_names() {
  static const std::vector<std::string> names = {
      "method",        "status", "weight MB", "disk MB", "forward p50 ms",   "decode tok/s",
      "prefill tok/s", "PPL",    "ΔPPL",      "ΔPPL %",  "speed-up vs fp32", "peak RSS MB"};
  return names;
}

// The column explanations printed under the tables.
const std::vector<std::string>& column_notes() {
  static const std::vector<std::string> notes = {
      "**status**: `ok`, `failed: <error>` (the cell ran and failed; measurements it did "
      "not reach show —), `missing` (no result file), `unreadable`/`refused` (the file does "
      "not parse or lacks a field the schema requires / has a newer schema_version: the "
      "status says which field). A missing value is never shown as zero.",
      "**weight MB**: `size.weights_in_memory_bytes` / 1e6, the weights as held in memory.",
      "**disk MB**: `size.on_disk_bytes` / 1e6, the model files as stored (or the method's "
      "own output files).",
      "**forward p50 ms**: median of the timed forward passes (`latency.ms.p50`; warm-up "
      "excluded), one pass over `latency.seq_len` tokens with a fresh KV cache.",
      "**decode tok/s**, **prefill tok/s**: greedy generation over the prompts file "
      "(`generation.decode_tok_s`, `generation.prefill_tok_s`), summed over prompts.",
      "**PPL**: sliding-window perplexity on the evaluation split (`perplexity.ppl`).",
      "**ΔPPL**, **ΔPPL %**: PPL minus the same model's `fp32_cpu` PPL, absolute and relative "
      "to it; positive means worse.",
      "**speed-up vs fp32**: the `fp32_cpu` forward p50 divided by this row's forward p50; "
      "above 1.00× is faster.",
      "**peak RSS MB**: peak resident memory of the whole cell (`memory.peak_bytes` / 1e6); "
      "† marks a sample the sampler itself flags as unreliable (`memory.reliable` false).",
  };
  return notes;
}

const std::vector<std::string>& speculative_column_names() {
  static const std::vector<std::string> names = {"method",      "draft",        "k",
                                                 "accept rate", "spec tok/s",   "target-only tok/s",
                                                 "speed-up",    "ids identical"};
  return names;
}

const std::vector<std::string>& speculative_column_notes() {
  static const std::vector<std::string> notes = {
      "**Speculative decoding** (rows with a `speculative` section): each prompt decoded with "
      "the draft, then by the target alone, in the same process. **accept rate**: draft tokens "
      "the target confirmed / proposed; **spec tok/s**, **target-only tok/s**: new tokens over "
      "prefill and decode seconds of each run; **speed-up**: target-only seconds / speculative "
      "seconds (above 1.00× the draft pays); **ids identical**: prompts whose two runs generated "
      "the same ids, of all prompts.",
  };
  return notes;
}

// A measurement read from a record: present and valid, present but
// negative (the record reads, the audit's schema rule flags it), or absent.
struct Measure {
  std::optional<double> value;
  bool invalid = false;
};

Measure measure(std::optional<double> value) {
  if (!value) return {};
  if (*value < 0) return {std::nullopt, true};
  return {value, false};
}

// A field of an optional section: absent when the section is.
template <class Section, class Field>
Measure measure(const std::optional<Section>& section, Field Section::*field) {
  if (!section) return {};
  return measure(static_cast<double>((*section).*field));
}

std::string show(const Measure& m, double scale, const char* format) {
  if (m.invalid) return "invalid";
  if (!m.value) return kMissing;
  return fmt::format(fmt::runtime(format), *m.value * scale);
}

// The first line of an error, whitespace collapsed, cut at a UTF-8 character
// boundary so a table cell stays one readable line.
std::string short_error(const std::string& error) {
  std::string line;
  for (char c : error) {
    if (c == '\n' || c == '\r') break;
    if (c == '\t') c = ' ';
    if (c == ' ' && !line.empty() && line.back() == ' ') continue;
    line.push_back(c);
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (line.empty()) return "no error message";
  if (line.size() <= kShortErrorBytes) return line;
  size_t cut = kShortErrorBytes;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return line.substr(0, cut) + "…";
}

std::string status_text(const ResultFile* file) {
  if (file == nullptr) return "missing";
  if (!file->parse_error.empty()) return "unreadable: " + short_error(file->parse_error);
  if (!file->record) {
    // A record that did not read is shown by its status cell only, since
    // its fields mean nothing to us.
    const std::string problem = file->problems.empty() ? "" : file->problems.front();
    return (file->refused ? "refused: " : "unreadable: ") + short_error(problem);
  }
  const ResultRecord& record = *file->record;
  if (!one_of(schema_rules(record.minor()).statuses, record.status)) {
    return "invalid status " + json(record.status).dump();
  }
  if (record.status == "failed") return "failed: " + short_error(record.error.value_or(""));
  return record.status;
}

struct Baseline {
  bool usable = false;
  Measure ppl;
  Measure p50;
};

Measure ppl_of(const ResultRecord& record) {
  return measure(record.perplexity, &PerplexityRecord::ppl);
}

Measure p50_of(const ResultRecord& record) {
  return record.latency ? measure(record.latency->ms.p50) : Measure{};
}

Baseline baseline_of(const ResultFile* file) {
  Baseline baseline;
  if (file == nullptr || !file->record || file->record->status != "ok") return baseline;
  baseline.usable = true;
  baseline.ppl = ppl_of(*file->record);
  baseline.p50 = p50_of(*file->record);
  return baseline;
}

// A comparison against the fp32 row: own value first (a row without it has
// nothing to compare), then the baseline.
template <typename Compute>
std::string compare(const Measure& own, const Baseline& baseline, const Measure& base,
                    Compute compute) {
  if (own.invalid) return "invalid";
  if (!own.value) return kMissing;
  if (!baseline.usable) return kNoBaseline;
  if (base.invalid || !base.value) return "no fp32 value";
  return compute(*own.value, *base.value);
}

std::vector<std::string> make_row(const std::string& method, const ResultFile* file,
                                  const Baseline& baseline, std::vector<std::string>& footnotes) {
  std::vector<std::string> row(kColumnCount, kMissing);
  row[kMethod] = method;
  row[kStatus] = status_text(file);
  if (file == nullptr || !file->record) return row;
  const ResultRecord& record = *file->record;
  row[kWeightMb] = show(measure(record.size, &SizeRecord::weights_in_memory_bytes), 1e-6, "{:.1f}");
  row[kDiskMb] = show(measure(record.size, &SizeRecord::on_disk_bytes), 1e-6, "{:.1f}");
  const Measure p50 = p50_of(record);
  row[kP50Ms] = show(p50, 1.0, "{:.2f}");
  row[kDecodeTokS] =
      show(measure(record.generation, &GenerationRecord::decode_tok_s), 1.0, "{:.1f}");
  row[kPrefillTokS] =
      show(measure(record.generation, &GenerationRecord::prefill_tok_s), 1.0, "{:.1f}");
  const Measure ppl = ppl_of(record);
  row[kPpl] = show(ppl, 1.0, "{:.3f}");
  row[kDeltaPpl] = compare(ppl, baseline, baseline.ppl, [](double own, double base) {
    return fmt::format("{:+.3f}", own - base);
  });
  row[kDeltaPplPercent] = compare(ppl, baseline, baseline.ppl, [](double own, double base) {
    return base > 0 ? fmt::format("{:+.2f}%", (own - base) / base * 100.0) : std::string("—");
  });
  row[kSpeedup] = compare(p50, baseline, baseline.p50, [](double own, double base) {
    return own > 0 ? fmt::format("{:.2f}×", base / own) : std::string("—");
  });
  const Measure peak = measure(record.memory, &MemoryRecord::peak_bytes);
  row[kPeakRssMb] = show(peak, 1e-6, "{:.1f}");
  if (peak.value && !record.memory->reliable) {
    row[kPeakRssMb] += "†";
    const std::string note = record.memory->note.value_or("");
    footnotes.push_back(fmt::format("† {}: peak RSS flagged unreliable by the sampler{}", method,
                                    note.empty() ? "" : ": " + short_error(note)));
  }
  return row;
}

// Markdown cells: a '|' would end the cell, a newline the row.
std::string markdown_cell(const std::string& text) {
  std::string cell;
  for (char c : text) {
    if (c == '|') {
      cell += "\\|";
    } else if (c == '\n' || c == '\r') {
      cell += ' ';
    } else {
      cell += c;
    }
  }
  return cell;
}

// Distinct values of one hardware field over the readable files, with how
// many files carry each, and how many files do not record it at all.
struct FieldValues {
  std::map<std::string, int> values;
  int not_recorded = 0;
};

FieldValues distinct_values(const std::vector<ResultFile>& files,
                            std::string (*value_of)(const ResultRecord&)) {
  FieldValues field;
  for (const ResultFile& file : files) {
    if (!file.record) continue;
    const std::string value = value_of(*file.record);
    if (value.empty()) {
      ++field.not_recorded;
    } else {
      ++field.values[value];
    }
  }
  return field;
}

std::string files_count(int count) {
  return fmt::format("{} file{}", count, count == 1 ? "" : "s");
}

std::string describe_values(const FieldValues& field) {
  std::string text;
  if (field.values.empty()) {
    text = "not recorded";
  } else if (field.values.size() == 1) {
    text = field.values.begin()->first;
  } else {
    std::vector<std::string> parts;
    for (const auto& [value, count] : field.values) {
      parts.push_back(fmt::format("{} ({})", value, files_count(count)));
    }
    text = fmt::format("MIXED: {}", fmt::join(parts, "; "));
  }
  if (!field.values.empty() && field.not_recorded > 0) {
    text += fmt::format(" (not recorded in {})", files_count(field.not_recorded));
  }
  return text;
}

// A value of the free-form hardware snapshot as text; empty when absent,
// null or "unknown".
std::string hardware_text(const ResultRecord& record, const char* pointer) {
  const json::json_pointer where(pointer);
  const json& hardware = record.hardware;
  if (!hardware.is_object() || !hardware.contains(where) || hardware.at(where).is_null()) return "";
  const json& value = hardware.at(where);
  if (value.is_string())
    return value.get<std::string>() == "unknown" ? "" : value.get<std::string>();
  return value.dump();
}

std::string cores_of(const ResultRecord& record) {
  const std::string physical = hardware_text(record, "/cpu/physical_cores");
  const std::string logical = hardware_text(record, "/cpu/logical_cpus");
  if (physical.empty() && logical.empty()) return "";
  return fmt::format("{} physical, {} logical", physical.empty() ? "?" : physical,
                     logical.empty() ? "?" : logical);
}
std::string isa_of(const ResultRecord& record) { return hardware_text(record, "/cpu/kernel_isa"); }
std::string threads_of(const ResultRecord& record) {
  return std::to_string(record.settings.threads);
}
std::string os_of(const ResultRecord& record) { return hardware_text(record, "/os/pretty_name"); }
std::string compiler_of(const ResultRecord& record) {
  const std::string id = hardware_text(record, "/build/compiler_id");
  const std::string version = hardware_text(record, "/build/compiler_version");
  if (id.empty() && version.empty()) return "";
  return fmt::format("{} {}", id, version);
}

std::string generated_notice(const std::string& command) {
  return fmt::format(
      "<!-- Generated by `{}` from the result files. Do not edit: rerun the command. -->\n",
      command);
}

void append_footnotes(std::string& out, const ModelTable& table) {
  if (table.footnotes.empty()) return;
  out += "\n";
  for (const std::string& note : table.footnotes) out += fmt::format("{}  \n", note);
}

void append_column_notes(std::string& out, bool with_speculative) {
  out += "## Columns\n\n";
  for (const std::string& note : column_notes()) out += fmt::format("- {}\n", note);
  if (!with_speculative) return;
  for (const std::string& note : speculative_column_notes()) out += fmt::format("- {}\n", note);
}

// A markdown table; the first `text_columns` columns are left-aligned
// (text), the others right-aligned (numbers).
std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows, size_t text_columns) {
  std::string out = "|";
  for (const std::string& name : header) out += " " + markdown_cell(name) + " |";
  out += "\n|";
  for (size_t i = 0; i < header.size(); ++i) out += i < text_columns ? " --- |" : " ---: |";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (const std::string& cell : row) out += " " + markdown_cell(cell) + " |";
    out += "\n";
  }
  return out;
}

bool status_ok(const ResultFile& file) { return file.record && file.record->status == "ok"; }

// One row's attention section as a table: columns p50 ms and GFLOP/s per
// length, a row per measured kernel; a length a kernel lacks shows "—".
AttentionTable attention_table(const std::string& model, const std::string& method,
                               const AttentionRecord& attention) {
  AttentionTable table;
  table.model = model;
  table.method = method;
  table.shape =
      fmt::format("{} heads over {} kv heads of {}, one layer; {} threads; {} KV cache for decode",
                  attention.heads, attention.kv_heads, attention.head_dim, attention.threads,
                  attention.kv_cache);
  table.header = {"kernel"};
  for (const int64_t tokens : attention.lengths) {
    table.header.push_back(fmt::format("{} tok p50 ms", tokens));
    table.header.push_back(fmt::format("{} tok GFLOP/s", tokens));
  }
  for (const std::string& name : eval::attention_kernel_slots()) {
    const auto slot = attention.kernels.find(name);
    if (slot == attention.kernels.end()) continue;  // the audit's attention rule reports it
    if (const auto* reason = std::get_if<std::string>(&slot->second)) {
      table.unavailable.push_back(fmt::format("`{}`: {}", name, *reason));
      continue;
    }
    const auto& kernel = std::get<AttentionKernelRecord>(slot->second);
    std::vector<std::string> row = {name};
    for (const int64_t tokens : attention.lengths) {
      const auto run =
          std::find_if(kernel.runs.begin(), kernel.runs.end(),
                       [tokens](const AttentionRunRecord& r) { return r.tokens == tokens; });
      if (run == kernel.runs.end()) {
        row.insert(row.end(), {kMissing, kMissing});
        continue;
      }
      row.push_back(show(measure(run->ms.p50), 1.0, "{:.3g}"));
      row.push_back(show(measure(run->gflop_s), 1.0, "{:.1f}"));
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace

const std::vector<std::string>& default_method_order() {
  static const std::vector<std::string> order = {"fp32_cpu", "bf16_cpu", "fp16_cpu"};
  return order;
}

std::vector<std::string> order_methods(std::vector<std::string> methods,
                                       const std::vector<std::string>& preferred) {
  std::sort(methods.begin(), methods.end());
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  auto rank = [&preferred](const std::string& method) {
    const auto it = std::find(preferred.begin(), preferred.end(), method);
    return static_cast<size_t>(it - preferred.begin());
  };
  // Already alphabetical, so a stable sort by rank leaves the unranked ones
  // (all rank preferred.size()) alphabetical.
  std::stable_sort(
      methods.begin(), methods.end(),
      [&rank](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return methods;
}

std::vector<ModelTable> build_tables(const std::vector<ResultFile>& files,
                                     const TableOptions& options) {
  std::map<std::string, std::map<std::string, const ResultFile*>> by_model;
  std::vector<std::string> all_methods;
  // Speculative rows apply only to models with a draft: a model without a
  // file for one has nothing missing.
  std::set<std::string> speculative_methods;
  for (const ResultFile& file : files) {
    by_model[file.model][file.method] = &file;
    all_methods.push_back(file.method);
    if (file.record && file.record->speculative) speculative_methods.insert(file.method);
  }
  const std::vector<std::string> methods = order_methods(all_methods, options.method_order);
  std::vector<ModelTable> tables;
  for (const auto& [model, cells] : by_model) {
    ModelTable table;
    table.model = model;
    table.header = column_names();
    auto find = [&cells = cells](const std::string& method) -> const ResultFile* {
      const auto it = cells.find(method);
      return it == cells.end() ? nullptr : it->second;
    };
    const Baseline baseline = baseline_of(find(kBaselineMethod));
    for (const std::string& method : methods) {
      const ResultFile* file = find(method);
      if (file == nullptr && speculative_methods.count(method) > 0) continue;
      table.rows.push_back(make_row(method, file, baseline, table.footnotes));
    }
    tables.push_back(std::move(table));
  }
  return tables;
}

std::vector<ModelTable> build_speculative_tables(const std::vector<ResultFile>& files,
                                                 const TableOptions& options) {
  std::map<std::string, std::map<std::string, const SpeculativeRecord*>> by_model;
  for (const ResultFile& file : files) {
    if (file.record && file.record->speculative) {
      by_model[file.model][file.method] = &*file.record->speculative;
    }
  }
  std::vector<ModelTable> tables;
  for (const auto& [model, rows] : by_model) {
    ModelTable table;
    table.model = model;
    table.header = speculative_column_names();
    std::vector<std::string> methods;
    for (const auto& [method, spec] : rows) methods.push_back(method);
    for (const std::string& method : order_methods(methods, options.method_order)) {
      const SpeculativeRecord& spec = *rows.at(method);
      const auto identical = std::count_if(spec.per_prompt.begin(), spec.per_prompt.end(),
                                           [](const auto& p) { return p.ids_identical; });
      table.rows.push_back(
          {method, spec.draft, std::to_string(spec.k), fmt::format("{:.3f}", spec.accept_rate),
           fmt::format("{:.1f}", spec.spec_tok_s), fmt::format("{:.1f}", spec.target_only_tok_s),
           fmt::format("{:.2f}×", spec.wallclock_speedup),
           fmt::format("{}/{}", identical, spec.per_prompt.size())});
    }
    tables.push_back(std::move(table));
  }
  return tables;
}

std::string render_markdown_table(const ModelTable& table) {
  return markdown_table(table.header, table.rows, kStatus + 1);
}

std::vector<AttentionTable> build_attention_tables(const std::vector<ResultFile>& files,
                                                   const TableOptions& options) {
  std::map<std::string, std::map<std::string, const AttentionRecord*>> by_model;
  for (const ResultFile& file : files) {
    if (status_ok(file) && file.record->attention) {
      by_model[file.model][file.method] = &*file.record->attention;
    }
  }
  std::vector<AttentionTable> tables;
  for (const auto& [model, rows] : by_model) {
    std::vector<std::string> methods;
    for (const auto& [method, attention] : rows) methods.push_back(method);
    for (const std::string& method : order_methods(methods, options.method_order)) {
      tables.push_back(attention_table(model, method, *rows.at(method)));
    }
  }
  return tables;
}

std::string render_attention_markdown(const AttentionTable& table) {
  std::string out = fmt::format("### Attention kernels: `{}`\n\n", table.method);
  out += fmt::format(
      "{}. p50 ms: the median timed call; GFLOP/s at that median (docs/METHODS.md "
      "`attn_bench_cpu`).\n\n",
      table.shape);
  out += markdown_table(table.header, table.rows, 1);
  if (!table.unavailable.empty()) {
    out += "\nNot run:\n\n";
    for (const std::string& line : table.unavailable) out += "- " + markdown_cell(line) + "\n";
  }
  return out;
}

namespace {

// The probe's rungs as rows (context length), with a column group per KV
// format in the order the probe ran them: MiB held (measured), MiB
// allocated, decode tok/s; "—" where a format lacks the length.
std::string kv_probe_markdown(const std::string& method, const KvProbeRecord& probe) {
  std::vector<std::string> formats;
  std::vector<int64_t> lengths;
  for (const KvProbeRungRecord& rung : probe.rungs) {
    if (std::find(formats.begin(), formats.end(), rung.kv_format) == formats.end())
      formats.push_back(rung.kv_format);
    if (std::find(lengths.begin(), lengths.end(), rung.tokens) == lengths.end())
      lengths.push_back(rung.tokens);
  }
  std::sort(lengths.begin(), lengths.end());
  std::vector<std::string> header = {"tokens"};
  for (const std::string& format : formats) {
    header.insert(header.end(),
                  {format + " MiB held", format + " MiB allocated", format + " decode tok/s"});
  }
  std::vector<std::vector<std::string>> rows;
  constexpr double kMiB = 1.0 / (1024.0 * 1024.0);
  for (const int64_t tokens : lengths) {
    std::vector<std::string> row = {std::to_string(tokens)};
    for (const std::string& format : formats) {
      const auto rung = std::find_if(
          probe.rungs.begin(), probe.rungs.end(),
          [&](const KvProbeRungRecord& r) { return r.tokens == tokens && r.kv_format == format; });
      if (rung == probe.rungs.end()) {
        row.insert(row.end(), {kMissing, kMissing, kMissing});
        continue;
      }
      row.push_back(show(measure(static_cast<double>(rung->measured_bytes)), kMiB, "{:.2f}"));
      row.push_back(show(measure(static_cast<double>(rung->allocated_bytes)), kMiB, "{:.2f}"));
      row.push_back(show(measure(rung->decode_tok_s), 1.0, "{:.0f}"));
    }
    rows.push_back(std::move(row));
  }
  std::string out = fmt::format("### KV-cache probe: `{}`\n\n", method);
  out += fmt::format(
      "fp32 weights; one greedy sequence per cache format, primed on a {}-token prompt; MiB "
      "held: the bytes the cache counts for the positions it holds (the audit's `kv_probe` rule "
      "checks them against the analytic size); decode tok/s over the {} steps after each "
      "length (docs/METHODS.md `kv_probe_cpu`).\n\n",
      probe.prompt_tokens, probe.window_tokens);
  return out + markdown_table(header, rows, 0);
}

std::string kv_comparison_line(const std::string& method, const std::string& kv_cache,
                               const KvComparisonRecord& c) {
  return fmt::format(
      "- `{}` ({} cache) against the {} cache, same process: {} bytes a token against {} "
      "({:.3f}x); decode {:.0f} tok/s against {:.0f}; identical greedy generations on {} of {} "
      "prompts (identical prefixes: {}).\n",
      method, kv_cache, c.baseline_kv_cache, c.bytes_per_token, c.baseline_bytes_per_token,
      c.bytes_ratio, c.decode_tok_s, c.baseline_decode_tok_s, c.prompts_identical, c.prompts,
      fmt::join(
          [&] {
            std::vector<std::string> prefixes;
            for (const KvComparisonPromptRecord& p : c.per_prompt)
              prefixes.push_back(fmt::format("{}/{}", p.identical_prefix, p.new_tokens));
            return prefixes;
          }(),
          ", "));
}

}  // namespace

std::string render_kv_cache_markdown(const std::vector<ResultFile>& files, const std::string& model,
                                     const TableOptions& options) {
  std::map<std::string, const ResultRecord*> rows;
  for (const ResultFile& file : files) {
    if (file.model == model && status_ok(file) &&
        (file.record->kv_probe || file.record->kv_comparison))
      rows[file.method] = &*file.record;
  }
  std::vector<std::string> methods;
  for (const auto& [method, record] : rows) methods.push_back(method);
  std::string probes, comparisons;
  for (const std::string& method : order_methods(methods, options.method_order)) {
    const ResultRecord& record = *rows.at(method);
    if (record.kv_probe) probes += kv_probe_markdown(method, *record.kv_probe) + "\n";
    if (record.kv_comparison)
      comparisons += kv_comparison_line(method, record.method.kv_cache, *record.kv_comparison);
  }
  if (!comparisons.empty()) comparisons = "### KV-cache formats compared\n\n" + comparisons + "\n";
  return probes + comparisons;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string render_csv(const ModelTable& table) {
  std::string out;
  auto line = [&out](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += csv_field(fields[i]);
    }
    out += "\r\n";
  };
  line(table.header);
  for (const auto& row : table.rows) line(row);
  return out;
}

RenderedTables render_tables(const std::vector<ResultFile>& files, const TableOptions& options) {
  RenderedTables rendered;
  const std::vector<ModelTable> tables = build_tables(files, options);
  std::map<std::string, ModelTable> speculative;
  for (ModelTable& table : build_speculative_tables(files, options)) {
    rendered.speculative_csv[table.model] = render_csv(table);
    speculative.emplace(table.model, std::move(table));
  }
  // A model's speculative table, under its main one.
  const auto append_speculative = [&speculative](std::string& out, const std::string& model) {
    const auto it = speculative.find(model);
    if (it == speculative.end()) return;
    out += "### Speculative decoding\n\n" + render_markdown_table(it->second) + "\n";
  };

  std::string& md = rendered.results_md;
  md += generated_notice(options.command);
  md += "# tinycompress results\n\n";
  md += fmt::format(
      "Generated by `{}` from {} result file{}. **Do not edit this file**: it is rebuilt from "
      "`results/raw/<model>/<method>.json` (see docs/RESULTS_SCHEMA.md).\n\n",
      options.command, files.size(), files.size() == 1 ? "" : "s");

  md += "## Hardware and build\n\n";
  const FieldValues revisions = distinct_values(files, git_revision_of);
  if (revisions.values.size() > 1) {
    md += fmt::format(
        "> **WARNING: these results come from {} different git revisions ({}). Rows built "
        "from different code are compared below; rerun the stale cells before trusting any "
        "comparison.**\n\n",
        revisions.values.size(), describe_values(revisions));
  }
  const FieldValues cpus = distinct_values(files, cpu_model_of);
  if (cpus.values.size() > 1) {
    md += fmt::format("> **WARNING: these results come from {} different CPUs.**\n\n",
                      cpus.values.size());
  }
  const std::pair<const char*, std::string (*)(const ResultRecord&)> fields[] = {
      {"CPU", cpu_model_of},
      {"cores", cores_of},
      {"ISA used by the kernels", isa_of},
      {"threads", threads_of},
      {"OS", os_of},
      {"compiler", compiler_of},
      {"git revision", git_revision_of},
  };
  for (const auto& [label, value_of] : fields) {
    md += fmt::format("- {}: {}\n", label, describe_values(distinct_values(files, value_of)));
  }
  for (const auto& [revision, count] : revisions.values) {
    if (revision.ends_with("-dirty")) {
      md += fmt::format(
          "- **{} was built from uncommitted changes** ({}): the revision alone "
          "does not reproduce it.\n",
          revision, files_count(count));
    }
  }
  md += "\n";

  const std::vector<AttentionTable> attention_tables = build_attention_tables(files, options);
  if (tables.empty()) md += "No result files.\n\n";
  for (const ModelTable& table : tables) {
    std::string attention;
    for (const AttentionTable& kernels : attention_tables) {
      if (kernels.model == table.model) attention += render_attention_markdown(kernels) + "\n";
    }
    md += fmt::format("## {}\n\n", table.model);
    md += render_markdown_table(table);
    append_footnotes(md, table);
    const std::string kv_cache = render_kv_cache_markdown(files, table.model, options);
    md += "\n" + attention + kv_cache;
    append_speculative(md, table.model);

    std::string& model_md = rendered.model_md[table.model];
    model_md += generated_notice(options.command);
    model_md += fmt::format("# {}\n\n", table.model);
    model_md += render_markdown_table(table);
    append_footnotes(model_md, table);
    model_md += "\n" + attention + kv_cache;
    append_speculative(model_md, table.model);
    append_column_notes(model_md, speculative.count(table.model) > 0);

    rendered.model_csv[table.model] = render_csv(table);
  }
  append_column_notes(md, !speculative.empty());
  return rendered;
}

void write_tables(const RenderedTables& tables, const std::string& out_md,
                  const std::string& tables_dir) {
  std::error_code error;
  fs::create_directories(tables_dir, error);
  if (error) fail("{}: cannot create folder: {}", tables_dir, error.message());
  for (const auto& [model, text] : tables.model_md) {
    io::write_file_atomic((fs::path(tables_dir) / (model + ".md")).string(), text);
  }
  for (const auto& [model, text] : tables.model_csv) {
    io::write_file_atomic((fs::path(tables_dir) / (model + ".csv")).string(), text);
  }
  for (const auto& [model, text] : tables.speculative_csv) {
    io::write_file_atomic((fs::path(tables_dir) / (model + ".speculative.csv")).string(), text);
  }
  const fs::path parent = fs::path(out_md).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, error);
    if (error) fail("{}: cannot create folder: {}", parent.string(), error.message());
  }
  io::write_file_atomic(out_md, tables.results_md);
}

}  // namespace tc::harness
