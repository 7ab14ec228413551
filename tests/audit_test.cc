// Tests of the results audit: a complete, valid result set passes; breaking
// exactly one rule fires that rule and no other.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/sha256.h"
#include "harness/audit.h"
#include "harness/result_record.h"
#include "harness/results_reader.h"
#include "result_fixture.h"
#include "test_paths.h"

namespace tc::harness {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kModel = "tiny";
constexpr const char* kRevision = "0123456789ab";

// The training text; the windows a method "read" are slices of it.
constexpr const char* kTrainText =
    "The scheduler picks the next task to run on each CPU.\n"
    "Memory barriers order the accesses of one CPU as seen by another.\n"
    "A spinlock busy-waits; a mutex sleeps.\n";
// The evaluation text: none of the training windows occur in it.
constexpr const char* kTestText =
    "Block devices queue requests and complete them out of order.\n"
    "The page cache keeps recently read file data in memory.\n";

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// Numbers chosen so the statistics are easy to check by hand (numpy):
// samples 10, 11, 12, 13, 14.5 → mean 12.1, p50 12, p90 13.9, p99 14.44.
json valid_latency() {
  return {{"seq_len", 128},
          {"n_warmup", 1},
          {"n_iters", 5},
          {"warmup_ms", {30.0}},
          {"samples_ms", {12.0, 10.0, 14.5, 11.0, 13.0}},
          {"ms",
           {{"mean", 12.1},
            {"p50", 12.0},
            {"p90", 13.9},
            {"p99", 14.44},
            {"min", 10.0},
            {"max", 14.5}}}};
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir();
    train_path_ = dir_ + "/data/train.txt";
    test_path_ = dir_ + "/data/test.txt";
    write_text(train_path_, kTrainText);
    write_text(test_path_, kTestText);
    write_result(kModel, "fp32_cpu", valid_result(kModel, "fp32_cpu"));
    write_result(kModel, "bf16_cpu", valid_result(kModel, "bf16_cpu"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string results_dir() const { return dir_ + "/results"; }
  std::string result_path(const std::string& model, const std::string& method) const {
    return results_dir() + "/raw/" + model + "/" + method + ".json";
  }

  // A window of the training text, as a method would record it.
  json window(size_t offset, size_t length) const {
    const std::string text = kTrainText;
    return {{"byte_offset", offset},
            {"byte_length", length},
            {"n_tokens", length / 4},
            {"sha256", sha256_hex(std::string_view(text).substr(offset, length))}};
  }

  // A complete result file that satisfies every rule.
  json valid_result(const std::string& model, const std::string& method) const {
    json result = {
        {"schema_version", 1},
        {"status", "ok"},
        {"error", nullptr},
        {"model",
         {{"name", model},
          {"path", "/models/" + model},
          {"role", "fixture"},
          {"config",
           {{"hidden_size", 64},
            {"intermediate_size", 256},
            {"num_layers", 2},
            {"num_heads", 4},
            {"num_kv_heads", 2},
            {"head_dim", 16},
            {"vocab_size", 1000},
            {"tie_word_embeddings", true},
            {"parameters", 123456}}}}},
        {"method",
         {{"name", method},
          {"description", "test method"},
          {"weight_format", "f32"},
          {"device", "cpu"},
          {"kv_cache", "f32"}}},
        {"started_at", "2025-01-01T00:00:00Z"},
        {"finished_at", "2025-01-01T00:01:00Z"},
        {"wall_seconds", 60.0},
        {"hardware",
         {{"schema", "tc.hardware_snapshot/1"},
          {"cpu", {{"model_name", "Test CPU 9000"}, {"physical_cores", 2}, {"kernel_isa", "avx2"}}},
          {"build", {{"git_revision", kRevision}, {"git_dirty", false}}}}},
        {"settings",
         {{"n_warmup", 1},
          {"n_iters", 5},
          {"seq_len_for_latency", 128},
          {"ppl_max_length", 256},
          {"ppl_stride", 128},
          {"max_new_tokens", 16},
          {"threads", 2}}},
        {"load", {{"seconds", 0.5}}},
        {"latency", valid_latency()},
        {"generation",
         {{"prompts_file", "prompts/prompts.txt"},
          {"prompts_sha256", std::string(64, 'a')},
          {"max_new_tokens", 16},
          {"per_prompt",
           {{{"prompt_tokens", 8},
             {"new_tokens", 16},
             {"prefill_seconds", 0.01},
             {"decode_seconds", 0.2},
             {"seconds", 0.21},
             {"tok_s", 76.2},
             {"prefill_tok_s", 800.0},
             {"decode_tok_s", 75.0}}}},
          {"new_tokens", 16},
          {"seconds", 0.21},
          {"tok_s", 76.2},
          {"prefill_tok_s", 800.0},
          {"decode_tok_s", 75.0}}},
        {"perplexity",
         {{"dataset", "kdoc"},
          {"split", "test"},
          {"file", test_path_},
          {"sha256", sha256_hex(std::string_view(kTestText))},
          {"n_tokens", 40},
          {"max_length", 256},
          {"stride", 128},
          {"ppl", 21.5},
          {"nll_sum", 119.6},
          {"scored_tokens", 39},
          {"windows", 1},
          {"seconds", 0.3}}},
        {"memory",
         {{"baseline_bytes", 1000000},
          {"peak_bytes", 5000000},
          {"samples", 100},
          {"interval_ms", 5},
          {"duration_s", 0.5},
          {"kernel_peak_bytes", 5100000},
          {"reliable", true},
          {"note", nullptr}}},
        {"size", {{"weights_in_memory_bytes", 4000000}, {"on_disk_bytes", 2000000}}},
        {"data_used", json::array()},
        {"compile", nullptr},
        {"method_details", json::object()},
    };
    if (method != "fp32_cpu") {
      // A method that read calibration data: two windows of the train split.
      result["data_used"] = {{{"purpose", "calibration"},
                              {"dataset", "kdoc"},
                              {"split", "train"},
                              {"layout", "kdoc"},
                              {"file", train_path_},
                              {"hashed", "file_bytes"},
                              {"sha256", sha256_hex(std::string_view(kTrainText))},
                              {"windows", {window(0, 40), window(54, 30)}}}};
    }
    if (method.starts_with("compile_")) result["compile"] = {{"first_run_ms", 250.0}};
    if (method.starts_with("spec_")) {
      // A speculative row (1.3): its own section instead of latency and
      // perplexity. 22 of 36 accepted; 0.45 s target-only over 0.25 s.
      result["schema_minor"] = 3;
      result["latency"] = nullptr;
      result["perplexity"] = nullptr;
      const auto prompt = [](int proposed, int accepted, double spec, double alone) {
        return json{{"prompt_tokens", 8},           {"new_tokens", 16},
                    {"target_only_new_tokens", 16}, {"proposed", proposed},
                    {"accepted", accepted},         {"spec_seconds", spec},
                    {"target_only_seconds", alone}, {"ids_identical", true}};
      };
      result["speculative"] = {
          {"draft", "draft-model"},
          {"k", 4},
          {"proposed", 36},
          {"accepted", 22},
          {"accept_rate", 22.0 / 36.0},
          {"new_tokens", 32},
          {"target_only_new_tokens", 32},
          {"spec_seconds", 0.1 + 0.15},
          {"target_only_seconds", 0.2 + 0.25},
          {"spec_tok_s", 32 / (0.1 + 0.15)},
          {"target_only_tok_s", 32 / (0.2 + 0.25)},
          {"wallclock_speedup", (0.2 + 0.25) / (0.1 + 0.15)},
          {"per_prompt", {prompt(20, 12, 0.1, 0.2), prompt(16, 10, 0.15, 0.25)}}};
    }
    return result;
  }

  // An attn_bench_cpu row (schema 1.3): the attention section instead of
  // latency, generation and perplexity; the three CPU kernels measured at
  // 128 tokens, the GPU slots unavailable.
  json valid_attention_result() const {
    json result = valid_result(kModel, "attn_bench_cpu");
    result["schema_minor"] = 3;
    for (const char* key : {"latency", "generation", "perplexity"}) result[key] = nullptr;
    result["data_used"] = json::array();
    result["attention"] = to_json(test::full_result(kModel, "attn_bench_cpu")).at("attention");
    return result;
  }

  // Writes the attn_bench_cpu row with `change` applied and expects only
  // the attention rule to fire; returns its details.
  template <typename Change>
  std::vector<std::string> break_attention(Change change) {
    json result = valid_attention_result();
    change(result["attention"]);
    write_result(kModel, "attn_bench_cpu", result);
    std::vector<std::string> details;
    for (const Violation& v : expect_only("attention")) details.push_back(v.detail);
    return details;
  }

  void write_result(const std::string& model, const std::string& method, const json& result) {
    write_text(result_path(model, method), result.dump(2));
  }

  std::vector<Violation> run_audit(const AuditOptions& options = {}) const {
    return audit_results(results_dir(), options).violations;
  }

  static std::string describe(const std::vector<Violation>& violations) {
    std::string text;
    for (const Violation& v : violations) text += format_violation(v) + "\n";
    return text;
  }

  // Audits and checks that the rules that fired are exactly `rules`.
  std::vector<Violation> expect_rules(const std::set<std::string>& rules,
                                      const AuditOptions& options = {}) const {
    const std::vector<Violation> violations = run_audit(options);
    std::set<std::string> fired;
    for (const Violation& v : violations) fired.insert(v.rule);
    EXPECT_EQ(fired, rules) << describe(violations);
    return violations;
  }
  std::vector<Violation> expect_only(const std::string& rule,
                                     const AuditOptions& options = {}) const {
    return expect_rules({rule}, options);
  }

  // Rewrites one result with `change` applied, then expects only `rule`.
  template <typename Change>
  std::vector<Violation> break_bf16(const std::string& rule, Change change) {
    json result = valid_result(kModel, "bf16_cpu");
    change(result);
    write_result(kModel, "bf16_cpu", result);
    return expect_only(rule);
  }

  // Writes a speculative row with `change` applied, expects only the
  // speculative rule and returns its details.
  template <typename Change>
  std::vector<std::string> break_speculative(Change change) {
    json result = valid_result(kModel, "spec_k4_cpu");
    change(result["speculative"]);
    write_result(kModel, "spec_k4_cpu", result);
    std::vector<std::string> details;
    for (const Violation& v : expect_only("speculative")) details.push_back(v.detail);
    return details;
  }

  std::string dir_;
  std::string train_path_;
  std::string test_path_;
};

TEST_F(AuditTest, ValidResultsPass) {
  write_result(kModel, "compile_default", valid_result(kModel, "compile_default"));
  write_result(kModel, "spec_k4_cpu", valid_result(kModel, "spec_k4_cpu"));
  write_result("other", "fp32_cpu", valid_result("other", "fp32_cpu"));
  const AuditReport report = audit_results(results_dir());
  EXPECT_EQ(report.n_files, 5u);
  EXPECT_TRUE(report.violations.empty()) << describe(report.violations);
}

TEST_F(AuditTest, EveryRuleIsInTheTable) {
  std::vector<std::string> names;
  for (const AuditRule& rule : audit_rules()) names.emplace_back(rule.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"schema", "hardware", "warmup", "ppl_split", "data_split",
                                      "compile_first_run", "attention", "kv_probe", "kv_comparison",
                                      "speculative", "fp32_baseline", "one_revision"}));
}

TEST_F(AuditTest, ViolationFormatIsPathRuleDetail) {
  EXPECT_EQ(format_violation({"results/raw/m/x.json", "schema", "status missing"}),
            "results/raw/m/x.json: schema: status missing");
}

TEST_F(AuditTest, TemporaryAndHiddenFilesAreIgnored) {
  write_text(results_dir() + "/raw/tiny/.bf16_cpu.json.tmp.Ab12Cd", "{half a fi");
  write_text(results_dir() + "/raw/tiny/int8.tmp.json", "{half a fi");
  EXPECT_EQ(audit_results(results_dir()).n_files, 2u);
  expect_rules({});
}

TEST_F(AuditTest, MissingRawFolderIsAnError) {
  EXPECT_THROW(audit_results(dir_ + "/nothing-here"), Error);
}

TEST_F(AuditTest, SchemaParseError) {
  write_text(result_path(kModel, "bf16_cpu"), "{\"schema_version\": 1, ");
  const auto violations = expect_only("schema");
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, result_path(kModel, "bf16_cpu"));
  EXPECT_NE(violations[0].detail.find("cannot parse"), std::string::npos);
}

TEST_F(AuditTest, SchemaOtherVersionIsRefused) {
  const auto violations = break_bf16("schema", [](json& r) { r["schema_version"] = 2; });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("schema_version 2"), std::string::npos);
}

TEST_F(AuditTest, SchemaMissingTopLevelField) {
  const auto violations = break_bf16("schema", [](json& r) { r.erase("started_at"); });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].detail, "started_at missing");
}

TEST_F(AuditTest, SchemaUnknownStatus) {
  break_bf16("schema", [](json& r) { r["status"] = "maybe"; });
}

TEST_F(AuditTest, SchemaWrongType) {
  break_bf16("schema", [](json& r) { r["wall_seconds"] = "sixty"; });
  break_bf16("schema", [](json& r) { r["generation"]["decode_tok_s"] = "fast"; });
}

TEST_F(AuditTest, SchemaNegativeMeasurement) {
  const auto violations = break_bf16("schema", [](json& r) { r["perplexity"]["ppl"] = -1.0; });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("perplexity.ppl"), std::string::npos);
  break_bf16("schema", [](json& r) { r["size"]["on_disk_bytes"] = -5; });
}

TEST_F(AuditTest, SchemaNonFiniteMeasurement) {
  // JSON has no NaN; a writer that emits one produces null (nlohmann) or an
  // out-of-range literal, and both must be caught.
  break_bf16("schema", [](json& r) { r["latency"]["ms"]["p50"] = nullptr; });
  json result = valid_result(kModel, "bf16_cpu");
  std::string text = result.dump();
  const std::string ppl = "\"ppl\":21.5";
  ASSERT_NE(text.find(ppl), std::string::npos);
  text.replace(text.find(ppl), ppl.size(), "\"ppl\":1e999");
  write_text(result_path(kModel, "bf16_cpu"), text);
  expect_only("schema");
}

TEST_F(AuditTest, SchemaOkCellWithoutMeasurement) {
  const auto violations = break_bf16("schema", [](json& r) { r["latency"] = nullptr; });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].detail, "status ok but latency is null");
  break_bf16("schema", [](json& r) { r.erase("memory"); });
}

TEST_F(AuditTest, SchemaNameMustMatchPath) {
  break_bf16("schema", [](json& r) { r["method"]["name"] = "fp16_cpu"; });
}

TEST_F(AuditTest, FailedCellMayLackMeasurements) {
  json result = valid_result(kModel, "bf16_cpu");
  result["status"] = "failed";
  result["error"] = "out of memory";
  for (const char* key : {"latency", "generation", "perplexity"}) result[key] = nullptr;
  result.erase("memory");
  result.erase("size");
  write_result(kModel, "bf16_cpu", result);
  expect_rules({});
}

TEST_F(AuditTest, HardwareMissing) {
  break_bf16("hardware", [](json& r) { r.erase("hardware"); });
}

TEST_F(AuditTest, HardwareWithoutCpuModelOrRevision) {
  break_bf16("hardware", [](json& r) { r["hardware"]["cpu"]["model_name"] = "unknown"; });
  const auto violations =
      break_bf16("hardware", [](json& r) { r["hardware"]["build"].erase("git_revision"); });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("git revision"), std::string::npos);
}

TEST_F(AuditTest, WarmupNoneDiscarded) {
  break_bf16("warmup", [](json& r) {
    r["latency"]["n_warmup"] = 0;
    r["latency"]["warmup_ms"] = json::array();
  });
}

TEST_F(AuditTest, WarmupCountsMustMatch) {
  break_bf16("warmup", [](json& r) { r["latency"]["warmup_ms"] = {30.0, 29.0}; });
  break_bf16("warmup", [](json& r) { r["latency"]["n_iters"] = 6; });
}

TEST_F(AuditTest, WarmupFoldedIntoStatistics) {
  // The mean and max as they come out when the 30 ms warm-up run is counted.
  const auto violations = break_bf16("warmup", [](json& r) {
    r["latency"]["ms"]["mean"] = (30.0 + 10 + 11 + 12 + 13 + 14.5) / 6;
    r["latency"]["ms"]["max"] = 30.0;
  });
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_NE(violations[0].detail.find("latency.ms.mean"), std::string::npos);
  EXPECT_NE(violations[1].detail.find("latency.ms.max"), std::string::npos);
  // A percentile off by more than the tolerance is caught too.
  break_bf16("warmup", [](json& r) { r["latency"]["ms"]["p90"] = 13.9001; });
}

TEST_F(AuditTest, PercentileIsNumpyLinear) {
  EXPECT_DOUBLE_EQ(percentile_linear({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile_linear({4, 3, 2, 1}, 90), 3.7);
  EXPECT_DOUBLE_EQ(percentile_linear({10, 11, 12, 13, 14.5}, 99), 14.44);
  EXPECT_DOUBLE_EQ(percentile_linear({7}, 99), 7);
  EXPECT_DOUBLE_EQ(percentile_linear({1, 2}, 0), 1);
  EXPECT_DOUBLE_EQ(percentile_linear({1, 2}, 100), 2);
}

TEST_F(AuditTest, PplSplitMustBeTest) {
  const auto violations =
      break_bf16("ppl_split", [](json& r) { r["perplexity"]["split"] = "validation"; });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("\"validation\""), std::string::npos);
}

TEST_F(AuditTest, PplSplitTextOnlyForTextDataset) {
  json result = valid_result(kModel, "bf16_cpu");
  result["perplexity"]["dataset"] = "text";
  result["perplexity"]["split"] = "text";
  write_result(kModel, "bf16_cpu", result);
  expect_rules({});
  break_bf16("ppl_split", [](json& r) { r["perplexity"]["split"] = "text"; });
}

TEST_F(AuditTest, PplSplitDatasetAndFileRecorded) {
  break_bf16("ppl_split", [](json& r) { r["perplexity"].erase("dataset"); });
  break_bf16("ppl_split", [](json& r) { r["perplexity"]["file"] = ""; });
}

TEST_F(AuditTest, DataSplitMustBeTrain) {
  const auto violations =
      break_bf16("data_split", [](json& r) { r["data_used"][0]["split"] = "validation"; });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("\"train\""), std::string::npos);
}

TEST_F(AuditTest, DataSplitWindowHashMustMatch) {
  // The recorded hash of a neighbouring slice: the offsets do not name the
  // text the method used.
  const auto violations = break_bf16("data_split", [this](json& r) {
    r["data_used"][0]["windows"][1]["sha256"] = window(55, 30)["sha256"];
  });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("windows[1] sha256"), std::string::npos);
  break_bf16("data_split",
             [](json& r) { r["data_used"][0]["windows"][0]["byte_offset"] = 100000; });
  break_bf16("data_split", [this](json& r) { r["data_used"][0]["file"] = dir_ + "/nope.txt"; });
}

TEST_F(AuditTest, DataSplitFileHashMustMatch) {
  const auto violations = break_bf16("data_split", [](json& r) {
    r["data_used"][0]["sha256"] = sha256_hex(std::string_view("another file"));
  });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("data_used[0].sha256"), std::string::npos);
  // A plain file is hashed as its bytes; "decompressed_text" names other bytes.
  break_bf16("data_split", [](json& r) { r["data_used"][0]["hashed"] = "decompressed_text"; });
  // An unknown `hashed` is a schema error, not a hash mismatch.
  break_bf16("schema", [](json& r) { r["data_used"][0]["hashed"] = "md5"; });
  // Files written before `hashed` existed: only the windows are checked.
  json result = valid_result(kModel, "bf16_cpu");
  result["data_used"][0].erase("hashed");
  result["data_used"][0]["sha256"] = "not checked without hashed";
  write_result(kModel, "bf16_cpu", result);
  expect_rules({});
}

TEST_F(AuditTest, DataSplitWindowMustNotOccurInEvaluationText) {
  // The evaluation file now contains the second training window.
  const std::string leaked = std::string(kTrainText).substr(54, 30);
  write_text(test_path_, std::string(kTestText) + "Quoted: " + leaked + " end.\n");
  const auto violations = expect_only("data_split");
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("occurs in the evaluation file"), std::string::npos);
  EXPECT_NE(violations[0].detail.find("windows[1]"), std::string::npos);
}

TEST_F(AuditTest, DataSplitReadsXzThroughTheReader) {
  json result = valid_result(kModel, "bf16_cpu");
  const std::string xz_path = dir_ + "/data/train.txt.xz";
  result["data_used"][0]["file"] = xz_path;
  result["data_used"][0]["hashed"] = "decompressed_text";
  write_result(kModel, "bf16_cpu", result);
  std::vector<std::string> read;
  AuditOptions options;
  options.read_text = [&](const std::string& path) -> std::string {
    read.push_back(path);
    if (path == xz_path) return kTrainText;  // "decompressed"
    return AuditOptions::read_data_text(path);
  };
  expect_rules({}, options);
  EXPECT_EQ(std::count(read.begin(), read.end(), xz_path), 1) << "read once per audit";
  // Without the injected reader the default one opens the (absent) .xz file.
  expect_only("data_split");
}

TEST_F(AuditTest, SpeculativeRateMustBeAcceptedOverProposed) {
  EXPECT_EQ(break_speculative([](json& spec) { spec["accept_rate"] = 0.5; }),
            (std::vector<std::string>{
                "speculative.accept_rate is 0.5 but accepted / proposed gives 0.611111111"}));
}

TEST_F(AuditTest, SpeculativeRateMustBeWithinZeroAndOne) {
  // More accepted than proposed, consistently everywhere else.
  EXPECT_EQ(break_speculative([](json& spec) {
              spec["per_prompt"][0]["accepted"] = 30;
              spec["accepted"] = 40;
              spec["accept_rate"] = 40.0 / 36.0;
            }),
            (std::vector<std::string>{"speculative.per_prompt[0] accepted 30 of 20 proposed",
                                      "speculative.accept_rate 1.11111111 is outside [0, 1]"}));
}

TEST_F(AuditTest, SpeculativeTotalsMustBeThePerPromptSums) {
  EXPECT_EQ(break_speculative([](json& spec) {
              spec["proposed"] = 40;
              spec["accept_rate"] = 22.0 / 40.0;
            }),
            (std::vector<std::string>{"speculative.proposed is 40 but per_prompt sums to 36"}));
  EXPECT_EQ(break_speculative([](json& spec) {
              spec["accepted"] = 18;
              spec["accept_rate"] = 18.0 / 36.0;
            }),
            (std::vector<std::string>{"speculative.accepted is 18 but per_prompt sums to 22"}));
  EXPECT_EQ(
      break_speculative([](json& spec) {
        spec["spec_seconds"] = 0.3;
        spec["spec_tok_s"] = 32 / 0.3;
        spec["wallclock_speedup"] = 0.45 / 0.3;
      }),
      (std::vector<std::string>{"speculative.spec_seconds is 0.3 but per_prompt sums to 0.25"}));
}

TEST_F(AuditTest, SpeculativeSpeedupAndRatesMustBeRecomputable) {
  EXPECT_EQ(break_speculative([](json& spec) { spec["wallclock_speedup"] = 2.0; }),
            (std::vector<std::string>{"speculative.wallclock_speedup is 2 but "
                                      "target_only_seconds / spec_seconds gives 1.8"}));
  EXPECT_EQ(break_speculative([](json& spec) { spec["target_only_tok_s"] = 100.0; }),
            (std::vector<std::string>{"speculative.target_only_tok_s is 100 but "
                                      "target_only_new_tokens / target_only_seconds gives "
                                      "71.1111111"}));
}

TEST_F(AuditTest, CompileFirstRunMustBeRecorded) {
  json result = valid_result(kModel, "compile_default");
  result["compile"] = json::object();
  write_result(kModel, "compile_default", result);
  expect_only("compile_first_run");
}

TEST_F(AuditTest, CompileFirstRunMustNotBeASample) {
  // The first run timed as a sample, statistics recomputed consistently: only
  // the compile rule can see it.
  json result = valid_result(kModel, "compile_default");
  result["latency"]["samples_ms"] = {250.0, 10.0, 14.5, 11.0, 13.0};
  result["latency"]["ms"] = {{"mean", 59.7},  {"p50", 13.0}, {"p90", 155.8},
                             {"p99", 240.58}, {"min", 10.0}, {"max", 250.0}};
  write_result(kModel, "compile_default", result);
  const auto violations = expect_only("compile_first_run");
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_NE(violations[0].detail.find("latency.samples_ms[0]"), std::string::npos);
}

TEST_F(AuditTest, CompileFirstRunFoldedIntoMean) {
  // A mean over the samples and the first run breaks both the compile rule and
  // the warm-up rule (whose statistics check covers every method).
  json result = valid_result(kModel, "compile_default");
  result["latency"]["ms"]["mean"] = (250.0 + 10 + 11 + 12 + 13 + 14.5) / 6;
  write_result(kModel, "compile_default", result);
  expect_rules({"compile_first_run", "warmup"});
}

TEST_F(AuditTest, CompileOnlyForCompileMethods) {
  break_bf16("compile_first_run", [](json& r) { r["compile"] = {{"first_run_ms", 250.0}}; });
}

TEST_F(AuditTest, AttentionRowPasses) {
  write_result(kModel, "attn_bench_cpu", valid_attention_result());
  expect_rules({});
}

TEST_F(AuditTest, AttentionEverySlotThereAndNoOther) {
  EXPECT_EQ(break_attention([](json& a) { a["kernels"].erase("cudnn_sdpa"); }),
            (std::vector<std::string>{"attention.kernels.cudnn_sdpa missing: every slot is "
                                      "written, measured or \"unavailable: <reason>\""}));
  EXPECT_EQ(break_attention([](json& a) { a["kernels"]["cuda_magic"] = "unavailable: why"; }),
            (std::vector<std::string>{
                "attention.kernels.cuda_magic is not a kernel slot (the slots: naive, "
                "tiled_online_softmax, split_k_decode, cuda_flash, cuda_efficient, cudnn_sdpa)"}));
}

TEST_F(AuditTest, AttentionUnavailableSaysWhy) {
  EXPECT_EQ(break_attention([](json& a) {
              a["kernels"]["cuda_flash"] = "n/a";
              a["kernels"]["tiled_online_softmax"] = "unavailable: ";
            }),
            (std::vector<std::string>{
                "attention.kernels.tiled_online_softmax is \"unavailable: \": a kernel that did "
                "not run says \"unavailable: <reason>\"",
                "attention.kernels.cuda_flash is \"n/a\": a kernel that did not run says "
                "\"unavailable: <reason>\""}));
  EXPECT_EQ(break_attention([](json& a) { a["kernels"]["naive"] = "unavailable: too slow"; }),
            (std::vector<std::string>{"attention.kernels.naive is \"unavailable: too slow\": the "
                                      "naive kernel runs on every CPU and must be measured"}));
}

TEST_F(AuditTest, AttentionMeasuredAtEveryLength) {
  const auto details = break_attention([](json& a) { a["lengths"] = {128, 512}; });
  ASSERT_EQ(details.size(), 3u);  // each CPU kernel
  EXPECT_EQ(details[0],
            "attention.kernels.naive is measured at [128] tokens, attention.lengths "
            "is [128, 512]");
}

TEST_F(AuditTest, AttentionTimesPositiveAndStatisticsRecomputable) {
  auto details = break_attention([](json& a) {
    json& run = a["kernels"]["split_k_decode"]["runs"][0];
    run["samples_ms"] = {0.02, 0.0, 0.04};  // same mean and p50; a call of 0 ms
  });
  EXPECT_EQ(details,
            (std::vector<std::string>{
                "attention.kernels.split_k_decode.runs[0].ms.min is 0.01 but samples_ms alone "
                "give 0 (warm-up or other runs folded into the statistics?)",
                "attention.kernels.split_k_decode.runs[0].ms.max is 0.03 but samples_ms alone "
                "give 0.04 (warm-up or other runs folded into the statistics?)",
                "attention.kernels.split_k_decode.runs[0].ms.p90 is 0.028 but samples_ms alone "
                "give 0.036 (warm-up or other runs folded into the statistics?)",
                "attention.kernels.split_k_decode.runs[0].ms.p99 is 0.0298 but samples_ms alone "
                "give 0.0396 (warm-up or other runs folded into the statistics?)",
                "attention.kernels.split_k_decode.runs[0].samples_ms[1] is 0: a timed call takes "
                "time"}));
  details = break_attention(
      [](json& a) { a["kernels"]["naive"]["runs"][0]["warmup_ms"] = json::array(); });
  EXPECT_EQ(details,
            (std::vector<std::string>{
                "attention.kernels.naive.runs[0].warmup_ms has 0 entries, n_warmup is 1"}));
}

TEST_F(AuditTest, AttentionFlopsAndGflopsRecomputable) {
  EXPECT_EQ(break_attention([](json& a) { a["kernels"]["naive"]["runs"][0]["gflop_s"] = 1.0; }),
            (std::vector<std::string>{
                "attention.kernels.naive.runs[0].gflop_s is 1 but flops / ms.p50 give 1.056768"}));
  // The decode run counted as a whole prefill (and its GFLOP/s from that count).
  EXPECT_EQ(break_attention([](json& a) {
              json& run = a["kernels"]["split_k_decode"]["runs"][0];
              run["flops"] = 2113536;
              run["gflop_s"] = 2113536 / (0.02 * 1e6);
            }),
            (std::vector<std::string>{
                "attention.kernels.split_k_decode.runs[0].flops is 2113536, but 1 queries ending "
                "at position 127 over 4 heads of 16 count 32768"}));
}

TEST_F(AuditTest, AttentionFastKernelsAgreeWithNaive) {
  EXPECT_EQ(break_attention([](json& a) {
              a["kernels"]["tiled_online_softmax"]["runs"][0].erase("max_abs_diff_vs_naive");
              a["kernels"]["split_k_decode"]["runs"][0]["max_abs_diff_vs_naive"] = 0.5;
            }),
            (std::vector<std::string>{
                "attention.kernels.tiled_online_softmax.runs[0].max_abs_diff_vs_naive missing: a "
                "fast kernel is checked against the naive one",
                "attention.kernels.split_k_decode.runs[0].max_abs_diff_vs_naive is 0.5, more "
                "than 0.0001: the kernel disagrees with the naive one"}));
}

// A kv_probe_cpu result for the fixture's model (2 layers, 2 kv heads of
// dim 16: 128 key and value elements per token): each format at 128 and 256
// tokens, the bytes as a correct cache reports them.
json kv_probe_result(json result) {
  json rungs = json::array();
  for (const auto& [format, per_token] :
       {std::pair{"f32", 512}, std::pair{"f16", 256}, std::pair{"int8", 128 + 2 * 2 * 2 * 2}}) {
    for (const int tokens : {128, 256}) {
      rungs.push_back({{"tokens", tokens},
                       {"kv_format", format},
                       {"analytic_bytes_per_token", per_token},
                       {"analytic_bytes", per_token * tokens},
                       {"measured_bytes", per_token * tokens},
                       {"allocated_bytes", per_token * 256},
                       {"rss_delta_bytes", -4096},  // process-wide: may shrink
                       {"decode_tok_s", 900.0}});
    }
  }
  result["schema_minor"] = 3;  // from 1.3 a row may measure only its own section
  result["latency"] = nullptr;
  result["generation"] = nullptr;
  result["perplexity"] = nullptr;
  result["kv_probe"] = {{"prompt_tokens", 9},
                        {"window_tokens", 16},
                        {"ladder", {128, 256}},
                        {"rss_note", "process-wide"},
                        {"rungs", rungs}};
  return result;
}

TEST_F(AuditTest, KvProbeBytesAgree) {
  write_result(kModel, "kv_probe_cpu", kv_probe_result(valid_result(kModel, "kv_probe_cpu")));
  expect_rules({});
}

TEST_F(AuditTest, KvProbeCatchesACacheThatOverOrUnderCounts) {
  for (const auto& [delta, word] : {std::pair{64, "over-count"}, std::pair{-64, "under-count"}}) {
    json result = kv_probe_result(valid_result(kModel, "kv_probe_cpu"));
    result["kv_probe"]["rungs"][4]["measured_bytes"] = 144 * 128 + delta;  // int8 at 128 tokens
    write_result(kModel, "kv_probe_cpu", result);
    const auto violations = expect_only("kv_probe");
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_NE(violations[0].detail.find("kv_probe.rungs[4] (int8 at 128 tokens)"),
              std::string::npos)
        << violations[0].detail;
    EXPECT_NE(violations[0].detail.find(word), std::string::npos) << violations[0].detail;
  }
}

TEST_F(AuditTest, KvProbeAnalyticSizeAllocationAndFormats) {
  json result = kv_probe_result(valid_result(kModel, "kv_probe_cpu"));
  auto& rungs = result["kv_probe"]["rungs"];
  rungs[0]["analytic_bytes_per_token"] = 500;  // not the model's f32 size, and × tokens breaks too
  rungs[3]["allocated_bytes"] = 1000;          // f16 at 256 tokens holds 65536 bytes
  rungs.erase(5);                              // no int8 rungs left
  rungs.erase(4);
  write_result(kModel, "kv_probe_cpu", result);
  const auto violations = expect_only("kv_probe");
  std::string all;
  for (const Violation& v : violations) all += v.detail + "\n";
  EXPECT_EQ(violations.size(), 4u) << all;
  EXPECT_NE(all.find("no rung for the int8 cache"), std::string::npos) << all;
  EXPECT_NE(all.find("analytic_bytes_per_token 500, the model's shape gives 512"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("allocated_bytes 1000 is less than the 65536 bytes held"), std::string::npos)
      << all;
}

TEST_F(AuditTest, KvComparisonRecomputable) {
  json result = valid_result(kModel, "kv_int8_cpu");
  result["kv_comparison"] = {{"baseline_kv_cache", "f16"},
                             {"bytes_per_token", 144},
                             {"baseline_bytes_per_token", 256},
                             {"bytes_ratio", 144.0 / 256.0},
                             {"decode_tok_s", 100.0},
                             {"baseline_decode_tok_s", 90.0},
                             {"prompts", 2},
                             {"prompts_identical", 1},
                             {"per_prompt",
                              {{{"prompt_tokens", 5},
                                {"new_tokens", 16},
                                {"identical_prefix", 16},
                                {"decode_tok_s", 100.0},
                                {"baseline_decode_tok_s", 90.0}},
                               {{"prompt_tokens", 7},
                                {"new_tokens", 16},
                                {"identical_prefix", 3},
                                {"decode_tok_s", 100.0},
                                {"baseline_decode_tok_s", 90.0}}}}};
  write_result(kModel, "kv_int8_cpu", result);
  expect_rules({});
  result["kv_comparison"]["bytes_ratio"] = 0.5;
  result["kv_comparison"]["prompts_identical"] = 3;
  result["kv_comparison"]["per_prompt"][1]["identical_prefix"] = 17;
  write_result(kModel, "kv_int8_cpu", result);
  EXPECT_EQ(expect_only("kv_comparison").size(), 3u)
      << "the ratio, prompts_identical > prompts and identical_prefix > new_tokens";
}

TEST_F(AuditTest, Fp32BaselineMissing) {
  fs::remove(result_path(kModel, "fp32_cpu"));
  const auto violations = expect_only("fp32_baseline");
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, result_path(kModel, "fp32_cpu"));
  EXPECT_NE(violations[0].detail.find("bf16_cpu"), std::string::npos);
}

TEST_F(AuditTest, Fp32BaselineFailed) {
  json result = valid_result(kModel, "fp32_cpu");
  result["status"] = "failed";
  result["error"] = "killed";
  result["latency"] = nullptr;
  write_result(kModel, "fp32_cpu", result);
  expect_only("fp32_baseline");
}

TEST_F(AuditTest, OneRevision) {
  const auto violations = break_bf16(
      "one_revision", [](json& r) { r["hardware"]["build"]["git_revision"] = "fedcba987654"; });
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].path, results_dir() + "/raw");
  EXPECT_NE(violations[0].detail.find(kRevision), std::string::npos);
  EXPECT_NE(violations[0].detail.find("fedcba987654"), std::string::npos);
  AuditOptions options;
  options.allow_mixed_revisions = true;
  expect_rules({}, options);
}

}  // namespace
}  // namespace tc::harness
