#include "harness/result_record.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/latency.h"
#include "profile/rss_sampler.h"

namespace tc::harness {

using nlohmann::json;

namespace {

using Problems = std::vector<std::string>;

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsMap : std::false_type {};
template <class T>
struct IsMap<std::map<std::string, T>> : std::true_type {};
// A string or a record (result_record.h): the only variants the schema has.
template <class T>
struct IsSlot : std::false_type {};
template <class T>
struct IsSlot<std::variant<std::string, T>> : std::true_type {};

// A struct of this file, as opposed to a JSON value type.
template <class T>
constexpr bool kIsRecord =
    !IsOptional<T>::value && !IsVector<T>::value && !IsMap<T>::value && !IsSlot<T>::value &&
    !std::is_same_v<T, std::string> && !std::is_same_v<T, json> && !std::is_arithmetic_v<T> &&
    !std::is_same_v<T, SignedInt>;

std::string field_path(const std::string& where, const char* key) {
  return where.empty() ? std::string(key) : where + "." + key;
}

std::string element_path(const std::string& where, size_t index) {
  return fmt::format("{}[{}]", where, index);
}

// An unset optional, or null free-form JSON: what Presence::kWhenSet leaves
// out and what an absent key reads as.
template <class T>
bool is_empty(const T& value) {
  if constexpr (IsOptional<T>::value) {
    return !value.has_value();
  } else if constexpr (std::is_same_v<T, json>) {
    return value.is_null();
  } else {
    return false;
  }
}

template <class T>
void make_empty(T& value) {
  if constexpr (IsOptional<T>::value) {
    value.reset();
  } else if constexpr (std::is_same_v<T, json>) {
    value = nullptr;
  }
}

// --- write ------------------------------------------------------------------

template <class T>
json write_value(const T& value);

struct Writer {
  json& object;
  template <class T>
  void operator()(const char* key, const T& value, Presence presence = Presence::kAlways) {
    if (presence == Presence::kWhenSet && is_empty(value)) return;
    object[key] = write_value(value);
  }
};

template <class T>
json write_value(const T& value) {
  if constexpr (IsOptional<T>::value) {
    return value ? write_value(*value) : json(nullptr);
  } else if constexpr (IsVector<T>::value) {
    json array = json::array();
    for (const auto& item : value) array.push_back(write_value(item));
    return array;
  } else if constexpr (std::is_same_v<T, SignedInt>) {
    return json(value.value);
  } else if constexpr (IsMap<T>::value) {
    json object = json::object();
    for (const auto& [key, item] : value) object[key] = write_value(item);
    return object;
  } else if constexpr (IsSlot<T>::value) {
    return std::visit([](const auto& held) { return write_value(held); }, value);
  } else if constexpr (kIsRecord<T>) {
    json object = json::object();
    Writer writer{object};
    T::fields(value, writer);
    return object;
  } else {
    return json(value);
  }
}

// --- read -------------------------------------------------------------------

void wrong_type(const json& value, const std::string& path, const char* expected,
                Problems& problems) {
  const std::string shown = value.is_null() ? std::string("null") : value.dump().substr(0, 60);
  problems.push_back(fmt::format("{} is {}, expected {}", path, shown, expected));
}

template <class T>
void read_value(const json& value, const std::string& path, T& out, Problems& problems);

// Reads the fields of one JSON object into a record, collecting problems.
struct Reader {
  const json& object;
  std::string where;  // the object's path; empty at the top level
  Problems& problems;
  template <class T>
  void operator()(const char* key, T& value, Presence presence = Presence::kAlways) {
    const std::string path = field_path(where, key);
    const auto it = object.find(key);
    if (it == object.end()) {
      if (presence == Presence::kAlways) problems.push_back(path + " missing");
      make_empty(value);
      return;
    }
    read_value(*it, path, value, problems);
  }
};

template <class T>
void read_value(const json& value, const std::string& path, T& out, Problems& problems) {
  if constexpr (IsOptional<T>::value) {
    out.reset();
    if (value.is_null()) return;
    typename T::value_type inner{};
    const size_t before = problems.size();
    read_value(value, path, inner, problems);
    if (problems.size() == before) out = std::move(inner);
  } else if constexpr (std::is_same_v<T, json>) {
    out = value;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!value.is_string()) return wrong_type(value, path, "a string", problems);
    out = value.get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!value.is_boolean()) return wrong_type(value, path, "a bool", problems);
    out = value.get<bool>();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (!value.is_number_integer()) return wrong_type(value, path, "an integer", problems);
    out = value.get<int64_t>();
  } else if constexpr (std::is_same_v<T, SignedInt>) {
    if (!value.is_number_integer()) return wrong_type(value, path, "an integer", problems);
    out.value = value.get<int64_t>();
  } else if constexpr (std::is_same_v<T, double>) {
    // A non-finite number only gets here as an out-of-range literal (1e999).
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      return wrong_type(value, path, "a finite number", problems);
    }
    out = value.get<double>();
  } else if constexpr (IsVector<T>::value) {
    if (!value.is_array()) return wrong_type(value, path, "an array", problems);
    out.assign(value.size(), typename T::value_type{});
    for (size_t i = 0; i < value.size(); ++i) {
      read_value(value[i], element_path(path, i), out[i], problems);
    }
  } else if constexpr (IsMap<T>::value) {
    if (!value.is_object()) return wrong_type(value, path, "an object", problems);
    out.clear();
    for (const auto& [key, item] : value.items()) {
      read_value(item, field_path(path, key.c_str()), out[key], problems);
    }
  } else if constexpr (IsSlot<T>::value) {
    using Record = std::variant_alternative_t<1, T>;
    if (value.is_string()) {
      out = value.get<std::string>();
    } else if (value.is_object()) {
      read_value(value, path, out.template emplace<Record>(), problems);
    } else {
      wrong_type(value, path, "a string or an object", problems);
    }
  } else {
    static_assert(kIsRecord<T>);
    if (!value.is_object()) return wrong_type(value, path, "an object", problems);
    Reader reader{value, path, problems};
    T::fields(out, reader);
  }
}

// --- validate: no negative number -------------------------------------------

template <class T>
void check_not_negative(const T& value, const std::string& path, Problems& problems);

// Every number in a result is a measurement, a count or a size: none is
// negative.
struct NotNegative {
  std::string where;
  Problems& problems;
  template <class T>
  void operator()(const char* key, const T& value, Presence = Presence::kAlways) {
    check_not_negative(value, field_path(where, key), problems);
  }
};

template <class T>
void check_not_negative(const T& value, const std::string& path, Problems& problems) {
  if constexpr (IsOptional<T>::value) {
    if (value) check_not_negative(*value, path, problems);
  } else if constexpr (IsVector<T>::value) {
    for (size_t i = 0; i < value.size(); ++i) {
      check_not_negative(value[i], element_path(path, i), problems);
    }
  } else if constexpr (IsMap<T>::value) {
    for (const auto& [key, item] : value) {
      check_not_negative(item, field_path(path, key.c_str()), problems);
    }
  } else if constexpr (IsSlot<T>::value) {
    std::visit([&](const auto& held) { check_not_negative(held, path, problems); }, value);
  } else if constexpr (std::is_same_v<T, double>) {
    if (value < 0) {
      problems.push_back(
          fmt::format("{} is {}, expected a finite number >= 0", path, json(value).dump()));
    }
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (value < 0)
      problems.push_back(fmt::format("{} is {}, expected an integer >= 0", path, value));
  } else if constexpr (kIsRecord<T>) {
    NotNegative check{path, problems};
    T::fields(value, check);
  }
  // Strings, bools, free-form JSON and SignedInt may have any sign.
}

bool one_of(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::string quoted_list(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  for (const std::string& value : values) quoted.push_back(json(value).dump());
  return fmt::format("{}", fmt::join(quoted, " or "));
}

// Whether an ok cell measured anything: the common sections, or the section
// a decode-side row writes instead of them.
bool measured_something(const ResultRecord& record) {
  return record.latency || record.generation || record.perplexity || record.kv_probe ||
         record.attention || record.speculative;
}

}  // namespace

const std::vector<SchemaVersionRules>& schema_versions() {
  // The measurements an ok cell has: a failed cell may stop before any.
  static const std::vector<std::string> kMeasured = {
      "load", "latency", "generation", "perplexity", "memory", "size", "method_details"};
  static const std::vector<SchemaVersionRules> versions = {
      {0, {"ok", "failed"}, kMeasured, "the first version"},
      {1,
       {"ok", "failed"},
       kMeasured,
       "schema_minor written; memory.peak_above_baseline_bytes documented"},
      {2, {"ok", "failed"}, kMeasured, "generation.draft_tokens_proposed and _accepted"},
      {3,
       {"ok", "failed"},
       {"load", "memory", "size", "method_details"},
       "decode-side rows: latency, generation and perplexity may be null in a row that "
       "measures something else instead (kv_probe, speculative, attention); an ok cell "
       "measures at least one section"},
  };
  return versions;
}

const SchemaVersionRules& schema_rules(int64_t minor) {
  const std::vector<SchemaVersionRules>& versions = schema_versions();
  const int64_t newest = static_cast<int64_t>(versions.size()) - 1;
  return versions[static_cast<size_t>(std::clamp<int64_t>(minor, 0, newest))];
}

LatencyStatsRecord stats_record_of(const eval::SampleStats& stats) {
  return {.mean = stats.mean,
          .p50 = stats.p50,
          .p90 = stats.p90,
          .p99 = stats.p99,
          .min = stats.min,
          .max = stats.max};
}

MemoryRecord memory_record_of(const profile::RssReport& report) {
  MemoryRecord memory;
  memory.baseline_bytes = static_cast<int64_t>(report.baseline_bytes);
  memory.peak_bytes = static_cast<int64_t>(report.peak_bytes);
  memory.peak_above_baseline_bytes = static_cast<int64_t>(
      report.peak_bytes > report.baseline_bytes ? report.peak_bytes - report.baseline_bytes : 0);
  memory.samples = static_cast<int64_t>(report.samples);
  memory.interval_ms = report.interval_ms;
  memory.duration_s = report.duration_s;
  memory.kernel_peak_bytes = static_cast<int64_t>(report.kernel_peak_bytes);
  memory.reliable = report.reliable;
  memory.note = report.note;
  return memory;
}

std::vector<DataUseRecord> data_used_from_json(const json& entries, const std::string& source) {
  std::vector<DataUseRecord> records;
  Problems problems;
  read_value(entries, "data_used", records, problems);
  if (!problems.empty()) fail("{}: {}", source, fmt::join(problems, "; "));
  return records;
}

json to_json(const ResultRecord& record) { return write_value(record); }

ResultRead read_result(const json& data) {
  ResultRead read;
  if (!data.is_object()) {
    read.problems.push_back("not a JSON object");
    return read;
  }
  // The version first: a file of a newer major is refused as a whole, not
  // read field by field into a layout it may not have.
  const auto version = data.find("schema_version");
  if (version == data.end()) {
    read.problems.push_back("schema_version missing");
  } else if (!version->is_number_integer() || version->get<int64_t>() < 1) {
    read.problems.push_back(
        fmt::format("schema_version {} is not a version (an integer, 1 or more)", version->dump()));
  } else if (version->get<int64_t>() > kSchemaMajor) {
    read.problems.push_back(fmt::format("schema_version {} is newer than this build reads ({}.{})",
                                        version->get<int64_t>(), kSchemaMajor, kSchemaMinor));
  }
  if (!read.problems.empty()) {
    read.refused = true;
    return read;
  }
  ResultRecord record;
  Reader reader{data, "", read.problems};
  ResultRecord::fields(record, reader);
  if (read.problems.empty()) read.record = std::move(record);
  return read;
}

ResultRecord result_from_json(const json& data, const std::string& path) {
  ResultRead read = read_result(data);
  if (!read.record) fail("{}: {}", path, fmt::join(read.problems, "; "));
  return std::move(*read.record);
}

std::vector<std::string> validate_result(const ResultRecord& record, std::string_view model_folder,
                                         std::string_view method_file) {
  Problems problems;
  const SchemaVersionRules& rules = schema_rules(record.minor());
  const bool ok = record.status == "ok";
  if (!one_of(rules.statuses, record.status)) {
    problems.push_back(fmt::format("status {}, expected {}", json(record.status).dump(),
                                   quoted_list(rules.statuses)));
  }
  if (ok) {
    const json written = to_json(record);
    for (const std::string& key : rules.required_when_ok) {
      if (!written.contains(key)) {
        problems.push_back(key + " missing");
      } else if (written[key].is_null()) {
        problems.push_back(fmt::format("status ok but {} is null", key));
      }
    }
    if (!measured_something(record)) {
      problems.push_back(
          "status ok but no measurement section (latency, generation, "
          "perplexity, or a row's own section) is set");
    }
  }
  if (!record.method_details.is_null() && !record.method_details.is_object()) {
    problems.push_back(fmt::format("method_details is {}, expected an object",
                                   record.method_details.dump().substr(0, 60)));
  }
  const bool has_error = record.error && !record.error->empty();
  if (record.status == "failed" && !has_error) {
    problems.push_back("status failed without an error message");
  }
  if (ok && has_error) problems.push_back("status ok but error is set: " + *record.error);

  if (record.model.name != model_folder) {
    problems.push_back(fmt::format("model.name {} does not match the folder \"{}\"",
                                   json(record.model.name).dump(), model_folder));
  }
  if (record.method.name != method_file) {
    problems.push_back(fmt::format("method.name {} does not match the file name \"{}.json\"",
                                   json(record.method.name).dump(), method_file));
  }

  check_not_negative(record, "", problems);

  for (size_t i = 0; i < record.data_used.size(); ++i) {
    const DataUseRecord& entry = record.data_used[i];
    const std::string where = element_path("data_used", i);
    if (entry.hashed && *entry.hashed != "file_bytes" && *entry.hashed != "decompressed_text") {
      problems.push_back(
          fmt::format("{}.hashed {} is neither \"file_bytes\" nor \"decompressed_text\"", where,
                      json(*entry.hashed).dump()));
    }
    if (entry.purpose != "calibration" && entry.purpose != "training") {
      problems.push_back(fmt::format("{}.purpose {} is neither \"calibration\" nor \"training\"",
                                     where, json(entry.purpose).dump()));
    }
  }
  return problems;
}

}  // namespace tc::harness
