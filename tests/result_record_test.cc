// Tests of the typed result record: write and read agree, a bad file is an
// error naming the file and the field, versions are accepted or refused by
// the rule, a version-1 file still reads, tables and audits, and
// docs/RESULTS_SCHEMA.md documents exactly the fields the record writes.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "error_of.h"
#include "harness/audit.h"
#include "harness/result_record.h"
#include "harness/results_reader.h"
#include "harness/tables.h"
#include "profile/rss_sampler.h"
#include "result_fixture.h"
#include "test_paths.h"

namespace tc::harness {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::full_result;

using FieldsBySection = std::map<std::string, std::set<std::string>>;

// The objects whose keys are not the schema's: free-form per method or per
// machine (docs/RESULTS_SCHEMA.md says so), so only their own key is checked.
bool free_form(const std::string& path) { return path == "hardware" || path == "method_details"; }

// The objects whose keys are data (a std::map in the record: kernel names):
// the doc lists the keys, and documents their values once, as the section
// "<path>.<name>".
bool keyed_by_name(const std::string& path) { return path == "attention.kernels"; }

// Section ("" for the top level, "generation.per_prompt[]" for the elements
// of an array) -> keys, of a written record.
void collect_sections(const json& object, const std::string& path, FieldsBySection& out) {
  std::set<std::string>& keys = out[path];
  for (const auto& [key, value] : object.items()) {
    keys.insert(key);
    const std::string child = keyed_by_name(path) ? path + ".<name>"
                              : path.empty()      ? key
                                                  : path + "." + key;
    if (free_form(child)) continue;
    if (value.is_object()) collect_sections(value, child, out);
    if (value.is_array() && !value.empty() && value[0].is_object()) {
      collect_sections(value[0], child + "[]", out);
    }
  }
}

// The field tables of the doc: under each "## `section`" heading ("## Top
// level" is ""), the backquoted names in the first cell of every row of a
// table whose header starts "| field |".
FieldsBySection documented_fields(const std::string& doc) {
  FieldsBySection sections;
  std::istringstream lines(doc);
  std::string line, section;
  bool in_field_table = false;
  while (std::getline(lines, line)) {
    if (line.starts_with("## ")) {
      section = line.substr(3);
      if (section == "Top level") section = "";
      std::erase(section, '`');
      in_field_table = false;
    } else if (line.starts_with("| field |")) {
      in_field_table = true;
    } else if (!line.starts_with("|")) {
      in_field_table = false;
    } else if (in_field_table && !line.starts_with("| ---")) {
      const std::string first_cell = line.substr(1, line.find('|', 1) - 1);
      for (size_t open = first_cell.find('`'); open != std::string::npos;) {
        const size_t close = first_cell.find('`', open + 1);
        sections[section].insert(first_cell.substr(open + 1, close - open - 1));
        open = first_cell.find('`', close + 1);
      }
    }
  }
  return sections;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string describe(const FieldsBySection& sections) {
  std::string text;
  for (const auto& [section, keys] : sections) {
    text += "[" + section + "]";
    for (const std::string& key : keys) text += " " + key;
    text += "\n";
  }
  return text;
}

// A field written but not documented, or documented but never written,
// fails here. (Checked to fail: removing the `samples` row of `memory`
// from the doc, or adding a row `bogus` to `size`, makes the sections differ.)
TEST(ResultRecord, DocumentsEveryWrittenField) {
  const std::string doc = read_text(std::string(TC_SOURCE_DIR) + "/docs/RESULTS_SCHEMA.md");
  ASSERT_FALSE(doc.empty());
  FieldsBySection written;
  collect_sections(to_json(full_result("m", "compile_x")), "", written);
  const FieldsBySection documented = documented_fields(doc);
  EXPECT_EQ(documented, written) << "documented:\n"
                                 << describe(documented) << "written:\n"
                                 << describe(written);
  // The walk sees the nested sections, so the comparison is not vacuous.
  EXPECT_TRUE(written.count("data_used[].windows[]"));
  EXPECT_TRUE(written.at("latency.ms").count("p99"));
  EXPECT_TRUE(written.at("attention.kernels").count("cudnn_sdpa"));
  EXPECT_TRUE(written.at("attention.kernels.<name>.runs[]").count("max_abs_diff_vs_naive"));
}

TEST(ResultRecord, WriteThenReadGivesTheSameRecord) {
  const json written = to_json(full_result("m", "x"));
  EXPECT_EQ(written.at("schema_version"), kSchemaMajor);
  EXPECT_EQ(written.at("schema_minor"), kSchemaMinor);
  EXPECT_EQ(written.at("latency").at("ms").at("p90"), 13.9);
  EXPECT_EQ(written.at("data_used")[0].at("windows")[0].at("byte_length"), 40);
  const ResultRecord read = result_from_json(written, "x.json");
  EXPECT_EQ(read.latency->samples_ms, (std::vector<double>{12.0, 10.0, 14.5, 11.0, 13.0}));
  EXPECT_EQ(read.memory->kernel_peak_bytes, 513000000);
  EXPECT_EQ(to_json(read), written);
}

// attention.kernels.<name> is the string saying why a kernel did not run,
// or the kernel's measurements: both read back as what was written.
TEST(ResultRecord, AttentionSlotsAreAStringOrMeasurements) {
  const json written = to_json(full_result("m", "x"));
  const json& kernels = written.at("attention").at("kernels");
  EXPECT_EQ(kernels.at("cuda_flash"), "unavailable: this build has no CUDA backend");
  EXPECT_EQ(kernels.at("naive").at("runs")[0].at("flops"), 4 * 4 * 16 * (128 * 129 / 2));
  EXPECT_FALSE(kernels.at("naive").at("runs")[0].contains("max_abs_diff_vs_naive"));
  EXPECT_EQ(kernels.at("split_k_decode").at("runs")[0].at("max_abs_diff_vs_naive"), 1e-7);

  const ResultRecord read = result_from_json(written, "x.json");
  const auto& slots = read.attention->kernels;
  ASSERT_EQ(slots.size(), 6u);
  EXPECT_EQ(std::get<std::string>(slots.at("cudnn_sdpa")),
            "unavailable: this build has no CUDA backend");
  EXPECT_EQ(std::get<AttentionKernelRecord>(slots.at("tiled_online_softmax")).runs.at(0).ms.p50,
            0.5);

  json bad = written;
  bad["attention"]["kernels"]["cuda_flash"] = 7;
  bad["attention"]["kernels"]["naive"]["runs"][0].erase("gflop_s");
  EXPECT_EQ(test::error_of([&] { result_from_json(bad, "x.json"); }),
            "x.json: attention.kernels.cuda_flash is 7, expected a string or an object; "
            "attention.kernels.naive.runs[0].gflop_s missing");
  bad = written;
  bad["attention"]["kernels"]["split_k_decode"]["runs"][0]["ms"]["p50"] = -1.0;
  EXPECT_EQ(validate_result(result_from_json(bad, "x.json"), "m", "x"),
            (std::vector<std::string>{"attention.kernels.split_k_decode.runs[0].ms.p50 is -1.0, "
                                      "expected a finite number >= 0"}));
}

TEST(ResultRecord, EmptyOptionalsAreNullOrLeftOut) {
  ResultRecord record = full_result("m", "x");
  record.status = "failed";
  record.error = "boom";
  record.latency.reset();
  record.load.reset();
  record.model.config.reset();
  const json written = to_json(record);
  EXPECT_TRUE(written.at("latency").is_null());  // kAlways: written as null
  EXPECT_FALSE(written.contains("load"));        // kWhenSet: left out
  EXPECT_FALSE(written.at("model").contains("config"));
  const ResultRecord read = result_from_json(written, "x.json");
  EXPECT_FALSE(read.latency);
  EXPECT_FALSE(read.load);
  EXPECT_EQ(read.error, "boom");
}

TEST(ResultRecord, MissingOrMistypedFieldNamesFileAndField) {
  json data = to_json(full_result("m", "x"));
  data["latency"]["ms"].erase("p50");
  std::string message = test::error_of([&] { result_from_json(data, "results/raw/m/x.json"); });
  EXPECT_EQ(message, "results/raw/m/x.json: latency.ms.p50 missing");

  data = to_json(full_result("m", "x"));
  data["wall_seconds"] = "sixty";
  data["data_used"][0]["windows"][0]["sha256"] = 7;
  message = test::error_of([&] { result_from_json(data, "x.json"); });
  EXPECT_EQ(message,
            "x.json: wall_seconds is \"sixty\", expected a finite number; "
            "data_used[0].windows[0].sha256 is 7, expected a string");

  data = to_json(full_result("m", "x"));
  data.erase("error");  // kAlways: required even though it may be null
  const ResultRead read = read_result(data);
  EXPECT_FALSE(read.record);
  EXPECT_EQ(read.problems, (std::vector<std::string>{"error missing"}));
  EXPECT_FALSE(read.refused);
}

TEST(ResultRecord, VersionsOlderAndNewerMinorReadNewerMajorRefused) {
  json data = to_json(full_result("m", "x"));
  data["schema_minor"] = kSchemaMinor + 5;  // additions this build does not know: read
  data["a_key_from_the_future"] = true;
  EXPECT_EQ(result_from_json(data, "x.json").minor(), kSchemaMinor + 5);

  data.erase("schema_minor");  // 1.0
  EXPECT_EQ(result_from_json(data, "x.json").minor(), 0);

  data["schema_version"] = kSchemaMajor + 1;
  const ResultRead read = read_result(data);
  EXPECT_TRUE(read.refused);
  EXPECT_FALSE(read.record);
  EXPECT_EQ(read.problems,
            (std::vector<std::string>{"schema_version 2 is newer than this build reads (1.3)"}));
  data["schema_version"] = "1";
  EXPECT_TRUE(read_result(data).refused);
  data.erase("schema_version");
  EXPECT_EQ(read_result(data).problems, (std::vector<std::string>{"schema_version missing"}));
}

TEST(ResultRecord, VersionTableCoversEveryMinor) {
  const auto& versions = schema_versions();
  ASSERT_EQ(versions.size(), static_cast<size_t>(kSchemaMinor + 1));
  for (size_t i = 0; i < versions.size(); ++i) EXPECT_EQ(versions[i].minor, int64_t(i));
  EXPECT_EQ(schema_rules(0).statuses, (std::vector<std::string>{"ok", "failed"}));
  EXPECT_EQ(&schema_rules(kSchemaMinor + 3), &versions.back()) << "newer minor: newest rules";
}

TEST(ResultRecord, ValidateReportsEachBrokenCheck) {
  EXPECT_TRUE(validate_result(full_result("m", "x"), "m", "x").empty());
  ResultRecord record = full_result("m", "x");
  record.status = "omitted";  // not a status of any version yet
  record.perplexity->ppl = -1;
  record.data_used[0].hashed = "md5";
  EXPECT_EQ(
      validate_result(record, "m", "y"),
      (std::vector<std::string>{
          "status \"omitted\", expected \"ok\" or \"failed\"",
          "method.name \"x\" does not match the file name \"y.json\"",
          "perplexity.ppl is -1.0, expected a finite number >= 0",
          "data_used[0].hashed \"md5\" is neither \"file_bytes\" nor \"decompressed_text\""}));
  record = full_result("m", "x");
  record.schema_minor = 2;  // before 1.3 every ok cell measured generation
  record.generation.reset();
  record.size.reset();
  record.error = "left over";
  EXPECT_EQ(validate_result(record, "m", "x"),
            (std::vector<std::string>{"status ok but generation is null", "size missing",
                                      "status ok but error is set: left over"}));
}

TEST(ResultRecord, FromVersion13AnOkCellMeasuresAtLeastOneSection) {
  ResultRecord record = full_result("m", "x");
  record.generation.reset();
  record.latency.reset();
  record.attention.reset();
  EXPECT_TRUE(validate_result(record, "m", "x").empty()) << "perplexity alone is a measurement";
  record.perplexity.reset();
  EXPECT_TRUE(validate_result(record, "m", "x").empty()) << "kv_probe alone is a measurement";
  record.kv_probe.reset();
  EXPECT_TRUE(validate_result(record, "m", "x").empty()) << "a speculative section alone is one";
  record.speculative.reset();
  EXPECT_EQ(validate_result(record, "m", "x"),
            (std::vector<std::string>{
                "status ok but no measurement section (latency, generation, perplexity, or a "
                "row's own section) is set"}));
  record.attention = test::attention_section();
  EXPECT_TRUE(validate_result(record, "m", "x").empty()) << "attention alone is a measurement";
}

TEST(ResultRecord, MemoryFromTheSamplerReport) {
  profile::RssReport report;
  report.baseline_bytes = 100;
  report.peak_bytes = 350;
  report.samples = 12;
  report.interval_ms = 5;
  report.duration_s = 0.06;
  report.kernel_peak_bytes = 360;
  report.note = "n";
  report.reliable = false;
  const MemoryRecord memory = memory_record_of(report);
  EXPECT_EQ(memory.baseline_bytes, 100);
  EXPECT_EQ(memory.peak_bytes, 350);
  EXPECT_EQ(memory.peak_above_baseline_bytes, 250);
  EXPECT_EQ(memory.samples, 12);
  EXPECT_EQ(memory.interval_ms, 5.0);
  EXPECT_EQ(memory.duration_s, 0.06);
  EXPECT_EQ(memory.kernel_peak_bytes, 360);
  EXPECT_EQ(memory.note, "n");
  EXPECT_FALSE(memory.reliable);
}

TEST(ResultRecord, DataUsedFromAMethodNamesTheSource) {
  const json good = to_json(full_result("m", "x")).at("data_used");
  EXPECT_EQ(data_used_from_json(good, "method x").at(0).windows.at(0).n_tokens, 10);
  json bad = good;
  bad[0].erase("split");
  EXPECT_EQ(test::error_of([&] { data_used_from_json(bad, "method x data_used"); }),
            "method x data_used: data_used[0].split missing");
}

// A file as the version-1 writer wrote it (no schema_minor; memory.note as
// written then): it reads, makes a table row and passes the audit.
constexpr const char* kVersion1File = R"({
  "schema_version": 1, "status": "ok", "error": null,
  "model": {"name": "tiny", "path": "/models/tiny", "role": "baseline",
            "config": {"hidden_size": 64, "intermediate_size": 256, "num_layers": 2,
                       "num_heads": 4, "num_kv_heads": 2, "head_dim": 16, "vocab_size": 1000,
                       "tie_word_embeddings": true, "parameters": 123456}},
  "method": {"name": "fp32_cpu", "description": "fp32", "weight_format": "f32",
             "device": "cpu", "kv_cache": "f32"},
  "started_at": "2025-01-01T00:00:00Z", "finished_at": "2025-01-01T00:01:00Z",
  "wall_seconds": 60.0,
  "hardware": {"cpu": {"model_name": "Old CPU"}, "build": {"git_revision": "abc123"}},
  "settings": {"n_warmup": 1, "n_iters": 2, "seq_len_for_latency": 16, "ppl_max_length": 32,
               "ppl_stride": 16, "max_new_tokens": 4, "threads": 1},
  "load": {"seconds": 0.1},
  "latency": {"seq_len": 16, "n_warmup": 1, "n_iters": 2, "warmup_ms": [9.0],
              "samples_ms": [4.0, 6.0],
              "ms": {"mean": 5.0, "p50": 5.0, "p90": 5.8, "p99": 5.98, "min": 4.0, "max": 6.0}},
  "generation": {"prompts_file": "p.txt", "prompts_sha256": "aa", "max_new_tokens": 4,
                 "per_prompt": [{"prompt_tokens": 3, "new_tokens": 4, "prefill_seconds": 0.01,
                                 "decode_seconds": 0.1, "seconds": 0.11, "tok_s": 36.4,
                                 "prefill_tok_s": 300.0, "decode_tok_s": 30.0}],
                 "new_tokens": 4, "seconds": 0.11, "tok_s": 36.4, "prefill_tok_s": 300.0,
                 "decode_tok_s": 30.0},
  "perplexity": {"dataset": "kdoc", "split": "test", "file": "data/test.txt", "sha256": "bb",
                 "n_tokens": 40, "max_length": 32, "stride": 16, "ppl": 25.25, "nll_sum": 100.0,
                 "scored_tokens": 39, "windows": 2, "seconds": 0.2},
  "memory": {"baseline_bytes": 1000, "peak_bytes": 2000000, "peak_above_baseline_bytes": 1999000,
             "samples": 50, "interval_ms": 5.0, "duration_s": 0.25, "kernel_peak_bytes": 2100000,
             "note": "", "reliable": true},
  "size": {"weights_in_memory_bytes": 3000000, "on_disk_bytes": 1500000},
  "data_used": [], "compile": null, "method_details": {}
})";

TEST(ResultRecord, Version1FileReadsTablesAndAudits) {
  const std::string dir = test::make_temp_dir();
  fs::create_directories(dir + "/results/raw/tiny");
  std::ofstream(dir + "/results/raw/tiny/fp32_cpu.json") << kVersion1File;

  const std::vector<ResultFile> files = read_results(dir + "/results");
  ASSERT_EQ(files.size(), 1u);
  ASSERT_TRUE(files[0].record) << (files[0].problems.empty() ? "" : files[0].problems[0]);
  EXPECT_EQ(files[0].record->minor(), 0);

  const std::vector<ModelTable> tables = build_tables(files, {});
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].rows.at(0),
            (std::vector<std::string>{"fp32_cpu", "ok", "3.0", "1.5", "5.00", "30.0", "300.0",
                                      "25.250", "+0.000", "+0.00%", "1.00×", "2.0"}));

  const AuditReport report = audit_results(dir + "/results");
  EXPECT_EQ(report.n_files, 1u);
  std::string violations;
  for (const Violation& v : report.violations) violations += format_violation(v) + "\n";
  EXPECT_TRUE(report.violations.empty()) << violations;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tc::harness
