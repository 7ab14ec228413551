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
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "core/sha256.h"
#include "io/xz_reader.h"

namespace tc::harness {

using nlohmann::json;

namespace {

// Statistics must be recomputable from the samples to this relative
// precision (the writer stores doubles; only printing can round them).
constexpr double kStatTolerance = 1e-6;

bool close(double a, double b, double relative) {
  const double diff = std::fabs(a - b);
  return diff <= relative * std::max(std::fabs(a), std::fabs(b)) || diff <= 1e-12;
}

// Parsed, an object, and schema_version 1: the files whose fields mean what
// the schema says. Only `schema` looks at the others (and reports them).
bool auditable(const ResultFile& file) {
  return file.parse_error.empty() && file.data.is_object() &&
         file.data.value("schema_version", json()) == json(1);
}

bool status_ok(const ResultFile& file) {
  return auditable(file) && file.data.value("status", json()) == json("ok");
}

// A field of an object, or nullptr when the object is not one or lacks it.
const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A measurement: a finite number that cannot be negative.
bool is_measure(const json& value) {
  return value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= 0;
}

bool is_count(const json& value) {
  return value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
}

std::optional<std::vector<double>> number_list(const json* value) {
  if (value == nullptr || !value->is_array()) return std::nullopt;
  std::vector<double> numbers;
  for (const json& item : *value) {
    if (!item.is_number()) return std::nullopt;
    numbers.push_back(item.get<double>());
  }
  return numbers;
}

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

enum class Kind { kString, kStringOrNull, kObject, kObjectOrNull, kArray, kMeasure };
enum class Need { kAlways, kWhenOk, kOptional };

struct TopField {
  const char* key;
  Kind kind;
  Need need;
};

// Every top-level field but `hardware`, which the hardware rule owns.
constexpr TopField kTopFields[] = {
    {"status", Kind::kString, Need::kAlways},
    {"error", Kind::kStringOrNull, Need::kAlways},
    {"model", Kind::kObject, Need::kAlways},
    {"method", Kind::kObject, Need::kAlways},
    {"started_at", Kind::kString, Need::kAlways},
    {"finished_at", Kind::kString, Need::kAlways},
    {"wall_seconds", Kind::kMeasure, Need::kAlways},
    {"settings", Kind::kObject, Need::kAlways},
    {"load", Kind::kObject, Need::kWhenOk},
    // The measurements: null is allowed for a failed cell only.
    {"latency", Kind::kObjectOrNull, Need::kWhenOk},
    {"generation", Kind::kObjectOrNull, Need::kWhenOk},
    {"perplexity", Kind::kObjectOrNull, Need::kWhenOk},
    {"memory", Kind::kObject, Need::kWhenOk},
    {"size", Kind::kObject, Need::kWhenOk},
    {"data_used", Kind::kArray, Need::kWhenOk},
    {"compile", Kind::kObjectOrNull, Need::kOptional},
    {"method_details", Kind::kObject, Need::kWhenOk},
};

bool has_kind(const json& value, Kind kind) {
  switch (kind) {
    case Kind::kString:
      return value.is_string();
    case Kind::kStringOrNull:
      return value.is_string() || value.is_null();
    case Kind::kObject:
      return value.is_object();
    case Kind::kObjectOrNull:
      return value.is_object() || value.is_null();
    case Kind::kArray:
      return value.is_array();
    case Kind::kMeasure:
      return is_measure(value);
  }
  return false;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "a string";
    case Kind::kStringOrNull:
      return "a string or null";
    case Kind::kObject:
      return "an object";
    case Kind::kObjectOrNull:
      return "an object or null";
    case Kind::kArray:
      return "an array";
    case Kind::kMeasure:
      return "a finite number >= 0";
  }
  return "?";
}

// Checks that object.<key> (named `where` in messages) is a measurement;
// `nullable` accepts null for fields a machine may not provide.
void need_measure(const json& object, const char* key, const std::string& where,
                  const Report& report, bool nullable = false) {
  const json* value = member(object, key);
  if (value == nullptr) {
    report(fmt::format("{}.{} missing", where, key));
  } else if (!(is_measure(*value) || (nullable && value->is_null()))) {
    report(fmt::format("{}.{} is {}, expected a finite number >= 0", where, key, value->dump()));
  }
}

void need_count(const json& object, const char* key, const std::string& where,
                const Report& report) {
  const json* value = member(object, key);
  if (value == nullptr) {
    report(fmt::format("{}.{} missing", where, key));
  } else if (!is_count(*value)) {
    report(fmt::format("{}.{} is {}, expected an integer >= 0", where, key, value->dump()));
  }
}

void need_string(const json& object, const char* key, const std::string& where,
                 const Report& report) {
  const json* value = member(object, key);
  if (value == nullptr) {
    report(fmt::format("{}.{} missing", where, key));
  } else if (!value->is_string()) {
    report(fmt::format("{}.{} is {}, expected a string", where, key, value->dump()));
  }
}

void need_measure_list(const json& object, const char* key, const std::string& where,
                       const Report& report) {
  const json* value = member(object, key);
  if (value == nullptr) {
    report(fmt::format("{}.{} missing", where, key));
    return;
  }
  if (!value->is_array()) {
    report(fmt::format("{}.{} is {}, expected an array", where, key, value->dump()));
    return;
  }
  for (size_t i = 0; i < value->size(); ++i) {
    if (!is_measure((*value)[i])) {
      report(fmt::format("{}.{}[{}] is {}, expected a finite number >= 0", where, key, i,
                         (*value)[i].dump()));
    }
  }
}

void check_latency_fields(const json& latency, const Report& report) {
  for (const char* key : {"seq_len", "n_warmup", "n_iters"})
    need_count(latency, key, "latency", report);
  need_measure_list(latency, "warmup_ms", "latency", report);
  need_measure_list(latency, "samples_ms", "latency", report);
  const json* ms = member(latency, "ms");
  if (ms == nullptr || !ms->is_object()) {
    report("latency.ms missing or not an object");
    return;
  }
  for (const char* key : {"mean", "p50", "p90", "p99", "min", "max"}) {
    need_measure(*ms, key, "latency.ms", report);
  }
}

void check_generation_fields(const json& generation, const Report& report) {
  need_string(generation, "prompts_file", "generation", report);
  for (const char* key :
       {"max_new_tokens", "new_tokens", "seconds", "tok_s", "prefill_tok_s", "decode_tok_s"}) {
    need_measure(generation, key, "generation", report);
  }
  const json* prompts = member(generation, "per_prompt");
  if (prompts == nullptr || !prompts->is_array()) {
    report("generation.per_prompt missing or not an array");
    return;
  }
  for (size_t i = 0; i < prompts->size(); ++i) {
    const std::string where = fmt::format("generation.per_prompt[{}]", i);
    if (!(*prompts)[i].is_object()) {
      report(where + " is not an object");
      continue;
    }
    for (const char* key : {"prompt_tokens", "new_tokens", "prefill_seconds", "decode_seconds",
                            "seconds", "tok_s", "prefill_tok_s", "decode_tok_s"}) {
      need_measure((*prompts)[i], key, where, report);
    }
  }
}

// dataset, split and file belong to the ppl_split rule.
void check_perplexity_fields(const json& perplexity, const Report& report) {
  need_string(perplexity, "sha256", "perplexity", report);
  for (const char* key : {"ppl", "nll_sum", "n_tokens", "scored_tokens", "windows", "max_length",
                          "stride", "seconds"}) {
    need_measure(perplexity, key, "perplexity", report);
  }
}

void check_memory_fields(const json& memory, const Report& report) {
  for (const char* key : {"baseline_bytes", "peak_bytes", "samples", "interval_ms", "duration_s"}) {
    need_measure(memory, key, "memory", report);
  }
  need_measure(memory, "kernel_peak_bytes", "memory", report, /*nullable=*/true);
  const json* reliable = member(memory, "reliable");
  if (reliable == nullptr || !reliable->is_boolean())
    report("memory.reliable missing or not a bool");
  const json* note = member(memory, "note");
  if (note != nullptr && !note->is_string() && !note->is_null()) {
    report("memory.note is neither a string nor null");
  }
}

// Values (train split, hashes matching) belong to the data_split rule.
void check_data_used_fields(const json& data_used, const Report& report) {
  for (size_t i = 0; i < data_used.size(); ++i) {
    const std::string where = fmt::format("data_used[{}]", i);
    const json& entry = data_used[i];
    if (!entry.is_object()) {
      report(where + " is not an object");
      continue;
    }
    for (const char* key : {"purpose", "dataset", "split", "file", "sha256"}) {
      need_string(entry, key, where, report);
    }
    const json* hashed = member(entry, "hashed");
    if (hashed != nullptr && *hashed != "file_bytes" && *hashed != "decompressed_text") {
      report(fmt::format("{}.hashed {} is neither \"file_bytes\" nor \"decompressed_text\"", where,
                         hashed->dump()));
    }
    const json* purpose = member(entry, "purpose");
    if (purpose != nullptr && purpose->is_string() && *purpose != "calibration" &&
        *purpose != "training") {
      report(fmt::format("{}.purpose {} is neither \"calibration\" nor \"training\"", where,
                         purpose->dump()));
    }
    const json* windows = member(entry, "windows");
    if (windows == nullptr || !windows->is_array()) {
      report(where + ".windows missing or not an array");
      continue;
    }
    for (size_t j = 0; j < windows->size(); ++j) {
      const std::string window = fmt::format("{}.windows[{}]", where, j);
      if (!(*windows)[j].is_object()) {
        report(window + " is not an object");
        continue;
      }
      need_count((*windows)[j], "byte_offset", window, report);
      need_count((*windows)[j], "byte_length", window, report);
      need_string((*windows)[j], "sha256", window, report);
      const json* n_tokens = member((*windows)[j], "n_tokens");
      if (n_tokens != nullptr && !is_count(*n_tokens)) {
        report(
            fmt::format("{}.n_tokens is {}, expected an integer >= 0", window, n_tokens->dump()));
      }
    }
  }
}

/// schema: the file parses; schema_version is 1 (other versions are refused,
/// not guessed at); every top-level field is there with its type; status is
/// "ok" or "failed"; a failed cell has an error; an ok cell has every
/// measurement (latency, generation, perplexity, memory, size); every number
/// that is a measurement (ms, tok/s, ppl, bytes, seconds) is finite and >= 0;
/// model.name and method.name match the file's path.
void check_schema(const ResultFile& file, AuditContext&, const Report& report) {
  if (!file.parse_error.empty()) {
    report("cannot parse: " + file.parse_error);
    return;
  }
  const json& data = file.data;
  if (!data.is_object()) {
    report("not a JSON object");
    return;
  }
  const json* version = member(data, "schema_version");
  if (version == nullptr) {
    report("schema_version missing");
    return;
  }
  if (*version != json(1)) {
    report(
        fmt::format("schema_version {}, expected 1 (other versions are refused)", version->dump()));
    return;
  }
  const json* status = member(data, "status");
  const bool ok = status != nullptr && *status == json("ok");
  if (status != nullptr && status->is_string() && !ok && *status != json("failed")) {
    report(fmt::format("status {}, expected \"ok\" or \"failed\"", status->dump()));
  }
  for (const TopField& field : kTopFields) {
    const json* value = member(data, field.key);
    const bool required = field.need == Need::kAlways || (field.need == Need::kWhenOk && ok);
    if (value == nullptr) {
      if (required) report(fmt::format("{} missing", field.key));
      continue;
    }
    if (!has_kind(*value, field.kind)) {
      report(fmt::format("{} is {}, expected {}", field.key,
                         value->is_null() ? std::string("null") : value->dump().substr(0, 60),
                         kind_name(field.kind)));
    } else if (ok && value->is_null() && field.need == Need::kWhenOk) {
      report(fmt::format("status ok but {} is null", field.key));
    }
  }

  const json* error = member(data, "error");
  if (status != nullptr && *status == json("failed") &&
      (error == nullptr || !error->is_string() || error->get<std::string>().empty())) {
    report("status failed without an error message");
  }
  if (ok && error != nullptr && error->is_string() && !error->get<std::string>().empty()) {
    report("status ok but error is set: " + error->get<std::string>());
  }

  const json* model = member(data, "model");
  if (model != nullptr && model->is_object()) {
    const json* name = member(*model, "name");
    if (name == nullptr || !name->is_string()) {
      report("model.name missing or not a string");
    } else if (*name != json(file.model)) {
      report(
          fmt::format("model.name {} does not match the folder \"{}\"", name->dump(), file.model));
    }
  }
  const json* method = member(data, "method");
  if (method != nullptr && method->is_object()) {
    const json* name = member(*method, "name");
    if (name == nullptr || !name->is_string()) {
      report("method.name missing or not a string");
    } else if (*name != json(file.method)) {
      report(fmt::format("method.name {} does not match the file name \"{}.json\"", name->dump(),
                         file.method));
    }
  }

  if (const json* load = member(data, "load"); load != nullptr && load->is_object()) {
    need_measure(*load, "seconds", "load", report);
  }
  if (const json* latency = member(data, "latency"); latency != nullptr && latency->is_object()) {
    check_latency_fields(*latency, report);
  }
  if (const json* generation = member(data, "generation");
      generation != nullptr && generation->is_object()) {
    check_generation_fields(*generation, report);
  }
  if (const json* perplexity = member(data, "perplexity");
      perplexity != nullptr && perplexity->is_object()) {
    check_perplexity_fields(*perplexity, report);
  }
  if (const json* memory = member(data, "memory"); memory != nullptr && memory->is_object()) {
    check_memory_fields(*memory, report);
  }
  if (const json* size = member(data, "size"); size != nullptr && size->is_object()) {
    need_measure(*size, "weights_in_memory_bytes", "size", report);
    need_measure(*size, "on_disk_bytes", "size", report);
  }
  if (const json* data_used = member(data, "data_used");
      data_used != nullptr && data_used->is_array()) {
    check_data_used_fields(*data_used, report);
  }
  if (const json* compile = member(data, "compile"); compile != nullptr && compile->is_object()) {
    const json* first = member(*compile, "first_run_ms");
    if (first != nullptr && !is_measure(*first)) {
      report(
          fmt::format("compile.first_run_ms is {}, expected a finite number >= 0", first->dump()));
    }
  }
}

// --- hardware ---------------------------------------------------------------

/// hardware: the hardware snapshot is there and names the CPU model and the
/// git revision of the build ("unknown" counts as missing): a number that
/// cannot be traced to a machine and a build cannot be compared.
void check_hardware(const ResultFile& file, AuditContext&, const Report& report) {
  if (!auditable(file)) return;
  const json* hardware = member(file.data, "hardware");
  if (hardware == nullptr || !hardware->is_object()) {
    report("no hardware snapshot (hardware missing or not an object)");
    return;
  }
  if (cpu_model_of(file.data).empty()) report("hardware snapshot without a CPU model");
  if (git_revision_of(file.data).empty()) report("hardware snapshot without a git revision");
}

// --- warmup -----------------------------------------------------------------

/// warmup: at least one warm-up iteration, discarded and listed apart:
/// warmup_ms has n_warmup entries, samples_ms has n_iters, and every
/// statistic in latency.ms (mean, min, max, p50, p90, p99; numpy's linear
/// percentiles) is recomputable from samples_ms alone, which catches warm-up
/// runs folded into the statistics.
void check_warmup(const ResultFile& file, AuditContext&, const Report& report) {
  if (!auditable(file)) return;
  const json* latency = member(file.data, "latency");
  if (latency == nullptr || !latency->is_object()) return;
  const json* n_warmup = member(*latency, "n_warmup");
  const json* n_iters = member(*latency, "n_iters");
  const auto warmup = number_list(member(*latency, "warmup_ms"));
  const auto samples = number_list(member(*latency, "samples_ms"));
  if (n_warmup != nullptr && n_warmup->is_number_integer()) {
    const int64_t count = n_warmup->get<int64_t>();
    if (count < 1) {
      report(
          fmt::format("latency.n_warmup is {}: at least one warm-up run must be discarded", count));
    }
    if (warmup && static_cast<int64_t>(warmup->size()) != count) {
      report(
          fmt::format("latency.warmup_ms has {} entries, n_warmup is {}", warmup->size(), count));
    }
  }
  if (n_iters != nullptr && n_iters->is_number_integer() && samples &&
      static_cast<int64_t>(samples->size()) != n_iters->get<int64_t>()) {
    report(fmt::format("latency.samples_ms has {} entries, n_iters is {}", samples->size(),
                       n_iters->get<int64_t>()));
  }
  if (!samples) return;
  if (samples->empty()) {
    report("latency.samples_ms is empty: no statistic can be recomputed");
    return;
  }
  double sum = 0;
  for (double sample : *samples) sum += sample;
  const std::pair<const char*, double> expected[] = {
      {"mean", sum / static_cast<double>(samples->size())},
      {"min", *std::min_element(samples->begin(), samples->end())},
      {"max", *std::max_element(samples->begin(), samples->end())},
      {"p50", percentile_linear(*samples, 50)},
      {"p90", percentile_linear(*samples, 90)},
      {"p99", percentile_linear(*samples, 99)},
  };
  const json* ms = member(*latency, "ms");
  for (const auto& [key, value] : expected) {
    const json* stored = ms == nullptr ? nullptr : member(*ms, key);
    if (stored == nullptr || !stored->is_number()) continue;  // schema reports it
    if (!close(stored->get<double>(), value, kStatTolerance)) {
      report(
          fmt::format("latency.ms.{} is {} but samples_ms alone give {} (warm-up or other "
                      "runs folded into the statistics?)",
                      key, show_number(stored->get<double>()), show_number(value)));
    }
  }
}

// --- ppl_split --------------------------------------------------------------

/// ppl_split: perplexity is measured on the test split ("text" is accepted
/// for the plain-text dataset "text") and records its dataset and file.
void check_ppl_split(const ResultFile& file, AuditContext&, const Report& report) {
  if (!auditable(file)) return;
  const json* perplexity = member(file.data, "perplexity");
  if (perplexity == nullptr || !perplexity->is_object()) return;
  const std::optional<std::string> dataset = string_at(*perplexity, "/dataset");
  const std::optional<std::string> split = string_at(*perplexity, "/split");
  const std::optional<std::string> path = string_at(*perplexity, "/file");
  if (!dataset || dataset->empty()) report("perplexity.dataset not recorded");
  if (!path || path->empty()) report("perplexity.file not recorded");
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
  if (!auditable(file)) return;
  const json* data_used = member(file.data, "data_used");
  if (data_used == nullptr || !data_used->is_array()) return;
  const std::optional<std::string> eval_path = string_at(file.data, "/perplexity/file");
  const std::string* eval_text = nullptr;
  if (eval_path && !eval_path->empty() && !data_used->empty()) {
    try {
      eval_text = &context.data_text(*eval_path);
    } catch (const std::exception& e) {
      report(fmt::format("cannot read the evaluation file to check for overlap: {}", e.what()));
    }
  }
  for (size_t i = 0; i < data_used->size(); ++i) {
    const json& entry = (*data_used)[i];
    if (!entry.is_object()) continue;
    const std::string where = fmt::format("data_used[{}]", i);
    const std::optional<std::string> split = string_at(entry, "/split");
    if (split && *split != "train") {
      report(fmt::format("{} ({}) uses split \"{}\", expected \"train\"", where,
                         string_at(entry, "/dataset").value_or("?"), *split));
    }
    const std::optional<std::string> path = string_at(entry, "/file");
    const std::optional<std::string> hashed = string_at(entry, "/hashed");
    const json* windows = member(entry, "windows");
    const bool has_windows = windows != nullptr && windows->is_array() && !windows->empty();
    if (!path || (!has_windows && !hashed)) continue;
    const std::string* text = nullptr;
    try {
      text = &context.data_text(*path);
    } catch (const std::exception& e) {
      report(fmt::format("{}: cannot re-read {}: {}", where, *path, e.what()));
      continue;
    }
    // The whole file's hash, when the entry says which bytes it hashed (older
    // files do not). Windows are offsets into the same bytes: the text of a
    // .xz file, the bytes of any other.
    const char* readable_bytes = path->ends_with(".xz") ? "decompressed_text" : "file_bytes";
    const std::optional<std::string> file_sha = string_at(entry, "/sha256");
    if (hashed && (*hashed == "file_bytes" || *hashed == "decompressed_text")) {
      if (*hashed != readable_bytes) {
        report(
            fmt::format("{}.hashed is \"{}\", but the audit re-reads {} as {} (its windows "
                        "are offsets into those bytes)",
                        where, *hashed, *path, readable_bytes));
      } else if (file_sha && context.data_sha256(*path) != *file_sha) {
        report(fmt::format("{}.sha256 {} but {} ({}) hashes to {}", where, *file_sha, *path,
                           *hashed, context.data_sha256(*path)));
      }
    }
    if (!has_windows) continue;
    for (size_t j = 0; j < windows->size(); ++j) {
      const json& window = (*windows)[j];
      const json* offset = member(window, "byte_offset");
      const json* length = member(window, "byte_length");
      const std::optional<std::string> sha = string_at(window, "/sha256");
      if (offset == nullptr || length == nullptr || !is_count(*offset) || !is_count(*length)) {
        continue;  // schema reports it
      }
      const std::string name = fmt::format("{}.windows[{}]", where, j);
      const uint64_t begin = offset->get<uint64_t>();
      const uint64_t size = length->get<uint64_t>();
      if (size == 0) {
        report(name + " is empty");
        continue;
      }
      if (begin > text->size() || size > text->size() - begin) {
        report(fmt::format("{} bytes [{}, {}) lie beyond the end of {} ({} bytes)", name, begin,
                           begin + size, *path, text->size()));
        continue;
      }
      const std::string_view slice(text->data() + begin, size);
      if (sha) {
        const std::string actual = context.options().sha256_hex(slice);
        if (actual != *sha) {
          report(fmt::format("{} sha256 {} but bytes [{}, {}) of {} hash to {}", name, *sha, begin,
                             begin + size, *path, actual));
        }
      }
      if (eval_text != nullptr) {
        const size_t found = eval_text->find(slice);
        if (found != std::string::npos) {
          report(
              fmt::format("{} (bytes [{}, {}) of {}) occurs in the evaluation file {} at "
                          "byte {}",
                          name, begin, begin + size, *path, *eval_path, found));
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
  const json* compile = member(file.data, "compile");
  if (!file.method.starts_with("compile_")) {
    if (compile != nullptr && !compile->is_null()) {
      report("compile is set, but only compile_* methods have a compile step");
    }
    return;
  }
  const json* first = compile == nullptr ? nullptr : member(*compile, "first_run_ms");
  if (first == nullptr || !first->is_number()) {
    report("compile.first_run_ms missing: the first (compiling) run must be recorded apart");
    return;
  }
  const double first_ms = first->get<double>();
  const json* latency = member(file.data, "latency");
  if (latency == nullptr || !latency->is_object()) return;
  for (const char* key : {"samples_ms", "warmup_ms"}) {
    const auto values = number_list(member(*latency, key));
    if (!values) continue;
    for (size_t i = 0; i < values->size(); ++i) {
      if (close((*values)[i], first_ms, 1e-12)) {
        report(
            fmt::format("compile.first_run_ms {} is also latency.{}[{}]: the first run must "
                        "not be timed as a forward pass",
                        show_number(first_ms), key, i));
      }
    }
  }
  const auto samples = number_list(member(*latency, "samples_ms"));
  const std::optional<double> mean = number_at(*latency, "/ms/mean");
  if (samples && !samples->empty() && mean) {
    double sum = 0;
    for (double sample : *samples) sum += sample;
    const double expected = sum / static_cast<double>(samples->size());
    if (!close(*mean, expected, kStatTolerance)) {
      report(
          fmt::format("latency.ms.mean {} is not the mean of samples_ms ({}): first run "
                      "folded in?",
                      show_number(*mean), show_number(expected)));
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
    const std::string why = baseline == nullptr     ? "missing"
                            : !auditable(*baseline) ? "unreadable"
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
    if (!auditable(file)) continue;
    const std::string revision = git_revision_of(file.data);
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
