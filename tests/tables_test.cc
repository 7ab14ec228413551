// Tests of the result tables: row contents (Δ against fp32, speed-up, failed
// and missing cells), CSV quoting, method order and byte-identical output.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/results_reader.h"
#include "harness/tables.h"
#include "result_fixture.h"
#include "test_paths.h"

namespace tc::harness {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// An ok cell with the values the tables show.
ResultRecord ok_result(const std::string& model, const std::string& method, double ppl,
                       double p50_ms) {
  ResultRecord record = test::full_result(model, method);
  // The decode-side rows' own sections: each test below adds its row.
  record.speculative.reset();
  record.attention.reset();
  record.kv_probe.reset();
  record.kv_comparison.reset();
  record.perplexity->ppl = ppl;
  record.latency->ms.p50 = p50_ms;
  return record;
}

// alpha's attn_bench_cpu row, measured at 128 and 512 tokens, except that
// the tiled kernel lacks its 512-token run.
ResultRecord attention_result() {
  ResultRecord record = test::full_result("alpha", "attn_bench_cpu");
  record.latency.reset();
  record.generation.reset();
  record.perplexity.reset();
  AttentionRecord& attention = *record.attention;
  attention.lengths = {128, 512};
  for (const char* name : {"naive", "split_k_decode"}) {
    auto& kernel = std::get<AttentionKernelRecord>(attention.kernels.at(name));
    AttentionRunRecord longer = kernel.runs.at(0);
    longer.tokens = 512;
    longer.ms.p50 *= 10;
    longer.gflop_s = 1234.5;
    kernel.runs.push_back(longer);
  }
  return record;
}

ResultFile file_of(const std::string& model, const std::string& method, ResultRecord record) {
  ResultFile file;
  file.path = "results/raw/" + model + "/" + method + ".json";
  file.model = model;
  file.method = method;
  file.record = std::move(record);
  return file;
}

// Two models. alpha: fp32, bf16 (no generation measured, unreliable memory),
// a failed int8 cell. beta: bf16 only (no fp32 baseline).
std::vector<ResultFile> sample_files() {
  std::vector<ResultFile> files;
  files.push_back(file_of("alpha", "fp32_cpu", ok_result("alpha", "fp32_cpu", 20.0, 10.0)));
  ResultRecord bf16 = ok_result("alpha", "bf16_cpu", 20.012, 5.0);
  bf16.generation.reset();
  bf16.memory->reliable = false;
  bf16.memory->note = "sampler missed 3 intervals";
  files.push_back(file_of("alpha", "bf16_cpu", bf16));
  ResultRecord failed = test::full_result("alpha", "int8_rtn");
  failed.status = "failed";
  failed.error = "out of memory, \"big\" model\nstack trace follows";
  failed.hardware = nullptr;
  failed.latency.reset();
  failed.generation.reset();
  failed.perplexity.reset();
  failed.memory.reset();
  failed.speculative.reset();
  failed.size = SizeRecord{.weights_in_memory_bytes = 500000000, .on_disk_bytes = 250000000};
  files.push_back(file_of("alpha", "int8_rtn", failed));
  files.push_back(file_of("beta", "bf16_cpu", ok_result("beta", "bf16_cpu", 17.5, 20.0)));
  return files;
}

const ModelTable& table_for(const std::vector<ModelTable>& tables, const std::string& model) {
  const auto it = std::find_if(tables.begin(), tables.end(),
                               [&](const ModelTable& t) { return t.model == model; });
  EXPECT_NE(it, tables.end()) << model;
  return *it;
}

std::vector<std::string> row_for(const ModelTable& table, const std::string& method) {
  for (const auto& row : table.rows) {
    if (row[0] == method) return row;
  }
  ADD_FAILURE() << "no row " << method << " in " << table.model;
  return {};
}

// Column indices, by header name, so the test reads like the table.
size_t column(const ModelTable& table, const std::string& name) {
  const auto it = std::find(table.header.begin(), table.header.end(), name);
  EXPECT_NE(it, table.header.end()) << name;
  return static_cast<size_t>(it - table.header.begin());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Tables, MethodOrderPutsBaselinesFirst) {
  EXPECT_EQ(order_methods({"gptq_int4", "fp16_cpu", "awq", "fp32_cpu", "bf16_cpu", "awq"},
                          default_method_order()),
            (std::vector<std::string>{"fp32_cpu", "bf16_cpu", "fp16_cpu", "awq", "gptq_int4"}));
  // A registry can supply its own order; unknown methods still follow alphabetically.
  EXPECT_EQ(order_methods({"b", "a", "z", "c"}, {"z", "c"}),
            (std::vector<std::string>{"z", "c", "a", "b"}));
}

TEST(Tables, RowsShowDeltasSpeedupsFailuresAndGaps) {
  const std::vector<ModelTable> tables = build_tables(sample_files(), {});
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].model, "alpha");
  EXPECT_EQ(tables[1].model, "beta");

  const ModelTable& alpha = table_for(tables, "alpha");
  ASSERT_EQ(alpha.rows.size(), 3u);
  EXPECT_EQ(alpha.rows[0][0], "fp32_cpu");
  EXPECT_EQ(alpha.rows[1][0], "bf16_cpu");
  EXPECT_EQ(alpha.rows[2][0], "int8_rtn");

  const auto fp32 = row_for(alpha, "fp32_cpu");
  EXPECT_EQ(fp32[column(alpha, "status")], "ok");
  EXPECT_EQ(fp32[column(alpha, "weight MB")], "1976.0");
  EXPECT_EQ(fp32[column(alpha, "disk MB")], "988.0");
  EXPECT_EQ(fp32[column(alpha, "forward p50 ms")], "10.00");
  EXPECT_EQ(fp32[column(alpha, "decode tok/s")], "42.3");
  EXPECT_EQ(fp32[column(alpha, "prefill tok/s")], "1234.5");
  EXPECT_EQ(fp32[column(alpha, "PPL")], "20.000");
  EXPECT_EQ(fp32[column(alpha, "ΔPPL")], "+0.000");
  EXPECT_EQ(fp32[column(alpha, "speed-up vs fp32")], "1.00×");
  EXPECT_EQ(fp32[column(alpha, "peak RSS MB")], "512.3");

  const auto bf16 = row_for(alpha, "bf16_cpu");
  EXPECT_EQ(bf16[column(alpha, "PPL")], "20.012");
  EXPECT_EQ(bf16[column(alpha, "ΔPPL")], "+0.012");
  EXPECT_EQ(bf16[column(alpha, "ΔPPL %")], "+0.06%");
  EXPECT_EQ(bf16[column(alpha, "speed-up vs fp32")], "2.00×");
  EXPECT_EQ(bf16[column(alpha, "decode tok/s")], "—");  // not measured, not zero
  EXPECT_EQ(bf16[column(alpha, "prefill tok/s")], "—");
  EXPECT_EQ(bf16[column(alpha, "peak RSS MB")], "512.3†");
  ASSERT_EQ(alpha.footnotes.size(), 1u);
  EXPECT_NE(alpha.footnotes[0].find("bf16_cpu"), std::string::npos);
  EXPECT_NE(alpha.footnotes[0].find("sampler missed 3 intervals"), std::string::npos);

  const auto failed = row_for(alpha, "int8_rtn");
  EXPECT_EQ(failed[column(alpha, "status")], "failed: out of memory, \"big\" model");
  EXPECT_EQ(failed[column(alpha, "weight MB")], "500.0");  // measured before it failed
  EXPECT_EQ(failed[column(alpha, "disk MB")], "250.0");
  for (const char* name : {"forward p50 ms", "PPL", "ΔPPL", "speed-up vs fp32", "peak RSS MB"}) {
    EXPECT_EQ(failed[column(alpha, name)], "—") << name;
  }

  const ModelTable& beta = table_for(tables, "beta");
  ASSERT_EQ(beta.rows.size(), 3u) << "every method seen anywhere gets a row";
  EXPECT_EQ(row_for(beta, "fp32_cpu")[column(beta, "status")], "missing");
  EXPECT_EQ(row_for(beta, "fp32_cpu")[column(beta, "PPL")], "—");
  EXPECT_EQ(row_for(beta, "int8_rtn")[column(beta, "status")], "missing");
  const auto beta_bf16 = row_for(beta, "bf16_cpu");
  EXPECT_EQ(beta_bf16[column(beta, "PPL")], "17.500");
  EXPECT_EQ(beta_bf16[column(beta, "ΔPPL")], "no fp32 baseline");
  EXPECT_EQ(beta_bf16[column(beta, "ΔPPL %")], "no fp32 baseline");
  EXPECT_EQ(beta_bf16[column(beta, "speed-up vs fp32")], "no fp32 baseline");
}

TEST(Tables, NegativeDeltaAndUnreadableFiles) {
  std::vector<ResultFile> files;
  files.push_back(file_of("m", "fp32_cpu", ok_result("m", "fp32_cpu", 20.0, 10.0)));
  files.push_back(file_of("m", "q4", ok_result("m", "q4", 19.5, 12.5)));
  ResultFile bad;
  bad.path = "results/raw/m/bad.json";
  bad.model = "m";
  bad.method = "bad";
  bad.parse_error = "parse error at byte 3";
  files.push_back(bad);
  json v2 = to_json(ok_result("m", "v2", 1, 1));
  v2["schema_version"] = 2;
  files.push_back(result_file_of("results/raw/m/v2.json", "m", "v2", v2));
  json lacking = to_json(ok_result("m", "lacking", 1, 1));
  lacking["perplexity"].erase("ppl");
  files.push_back(result_file_of("results/raw/m/lacking.json", "m", "lacking", lacking));
  const ModelTable table = build_tables(files, {})[0];
  const auto q4 = row_for(table, "q4");
  EXPECT_EQ(q4[column(table, "ΔPPL")], "-0.500");
  EXPECT_EQ(q4[column(table, "ΔPPL %")], "-2.50%");
  EXPECT_EQ(q4[column(table, "speed-up vs fp32")], "0.80×");
  EXPECT_EQ(row_for(table, "bad")[column(table, "status")], "unreadable: parse error at byte 3");
  EXPECT_EQ(row_for(table, "bad")[column(table, "PPL")], "—");
  EXPECT_EQ(row_for(table, "v2")[column(table, "status")],
            "refused: schema_version 2 is newer than this build reads (1.3)");
  EXPECT_EQ(row_for(table, "v2")[column(table, "PPL")], "—");
  EXPECT_EQ(row_for(table, "lacking")[column(table, "status")],
            "unreadable: perplexity.ppl missing");
  EXPECT_EQ(row_for(table, "lacking")[column(table, "forward p50 ms")], "—");
}

TEST(Tables, MarkdownRows) {
  const RenderedTables out = render_tables(sample_files(), {});
  const std::string& md = out.results_md;
  EXPECT_EQ(md.rfind("<!-- Generated by `tinycompress table`", 0), 0u) << md;
  EXPECT_NE(md.find("Do not edit"), std::string::npos);
  // The failed cell has no hardware snapshot: said, not hidden.
  EXPECT_NE(md.find("- CPU: Test CPU 9000 (not recorded in 1 file)\n"), std::string::npos) << md;
  EXPECT_NE(md.find("- cores: 8 physical, 16 logical (not recorded in 1 file)\n"),
            std::string::npos);
  EXPECT_NE(md.find("- ISA used by the kernels: avx512 (not recorded in 1 file)\n"),
            std::string::npos);
  EXPECT_NE(md.find("- git revision: 0123456789ab (not recorded in 1 file)\n"), std::string::npos);
  EXPECT_EQ(md.find("WARNING"), std::string::npos);
  EXPECT_NE(md.find("## alpha\n"), std::string::npos);
  EXPECT_NE(md.find("## beta\n"), std::string::npos);
  EXPECT_NE(md.find("| bf16_cpu | ok | 1976.0 | 988.0 | 5.00 | — | — | 20.012 | +0.012 | "
                    "+0.06% | 2.00× | 512.3† |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| int8_rtn | failed: out of memory, \"big\" model | 500.0 | 250.0 | — |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("## Columns"), std::string::npos);
  EXPECT_NE(out.model_md.at("alpha").find("| fp32_cpu | ok |"), std::string::npos);
}

TEST(Tables, MarkdownEscapesPipes) {
  std::vector<ResultFile> files;
  ResultRecord failed = test::full_result("m", "x");
  failed.status = "failed";
  failed.error = "a|b";
  files.push_back(file_of("m", "x", failed));
  const RenderedTables out = render_tables(files, {});
  EXPECT_NE(out.results_md.find("| failed: a\\|b |"), std::string::npos) << out.results_md;
}

TEST(Tables, CsvQuoting) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  const RenderedTables out = render_tables(sample_files(), {});
  const std::string& csv = out.model_csv.at("alpha");
  EXPECT_EQ(csv.rfind("method,status,weight MB,disk MB,forward p50 ms,", 0), 0u) << csv;
  EXPECT_NE(csv.find("\r\nint8_rtn,\"failed: out of memory, \"\"big\"\" model\",500.0,250.0,—,"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\r\nbf16_cpu,ok,1976.0,988.0,5.00,—,—,20.012,+0.012,+0.06%,2.00×,"
                     "512.3†\r\n"),
            std::string::npos)
      << csv;
  // Every record has the header's field count (no stray separators).
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
}

// A speculative row (full_result's section: 22 of 36 accepted, 1.8× faster,
// one of two prompts identical) gets its model a speculative table.
TEST(Tables, SpeculativeTableForModelsWithSpeculativeRows) {
  std::vector<ResultFile> files = sample_files();
  ResultRecord spec = test::full_result("alpha", "spec_k4_cpu");
  spec.latency.reset();
  spec.perplexity.reset();
  files.push_back(file_of("alpha", "spec_k4_cpu", spec));
  const std::vector<ModelTable> tables = build_speculative_tables(files, {});
  ASSERT_EQ(tables.size(), 1u) << "beta has no speculative row";
  EXPECT_EQ(tables[0].model, "alpha");
  EXPECT_EQ(tables[0].header,
            (std::vector<std::string>{"method", "draft", "k", "accept rate", "spec tok/s",
                                      "target-only tok/s", "speed-up", "ids identical"}));
  ASSERT_EQ(tables[0].rows.size(), 1u);
  EXPECT_EQ(tables[0].rows[0], (std::vector<std::string>{"spec_k4_cpu", "draft-model", "4", "0.611",
                                                         "128.0", "71.1", "1.80×", "1/2"}));

  const RenderedTables rendered = render_tables(files, {});
  const std::string& md = rendered.model_md.at("alpha");
  const std::string table = "### Speculative decoding\n\n| method | draft | k | accept rate |";
  EXPECT_NE(md.find(table), std::string::npos) << md;
  EXPECT_NE(md.find("| spec_k4_cpu | draft-model | 4 | 0.611 | 128.0 | 71.1 | 1.80× | 1/2 |"),
            std::string::npos)
      << md;
  EXPECT_NE(rendered.results_md.find(table), std::string::npos);
  EXPECT_NE(rendered.results_md.find("**Speculative decoding**"), std::string::npos);
  EXPECT_EQ(rendered.model_md.at("beta").find("Speculative"), std::string::npos);
  // beta has no draft: no "missing" spec_k4_cpu row in its main table either.
  EXPECT_EQ(rendered.model_md.at("beta").find("spec_k4_cpu"), std::string::npos);
  EXPECT_EQ(row_for(table_for(build_tables(files, {}), "alpha"), "spec_k4_cpu")[1], "ok");
  EXPECT_EQ(rendered.speculative_csv.size(), 1u);
  EXPECT_NE(rendered.speculative_csv.at("alpha").find("spec_k4_cpu,draft-model,4,0.611,"),
            std::string::npos);
  const std::string dir = test::make_temp_dir();
  write_tables(rendered, dir + "/RESULTS.md", dir + "/tables");
  EXPECT_EQ(read_file(dir + "/tables/alpha.speculative.csv"), rendered.speculative_csv.at("alpha"));
  EXPECT_FALSE(fs::exists(dir + "/tables/beta.speculative.csv"));
  // Without speculative rows, no table and no notes.
  EXPECT_EQ(render_tables(sample_files(), {}).results_md.find("Speculative"), std::string::npos);
}

TEST(Tables, MixedRevisionsWarnLoudly) {
  std::vector<ResultFile> files = sample_files();
  files[1].record->hardware["build"]["git_revision"] = "fedcba987654";
  const std::string md = render_tables(files, {}).results_md;
  EXPECT_NE(md.find("WARNING: these results come from 2 different git revisions"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("- git revision: MIXED: 0123456789ab (2 files); fedcba987654 (1 file)"),
            std::string::npos)
      << md;
}

TEST(Tables, AttentionKernelsByLengthAndTheKernelsNotRun) {
  std::vector<ResultFile> files = sample_files();
  files.push_back(file_of("alpha", "attn_bench_cpu", attention_result()));
  ResultRecord failed = attention_result();
  failed.status = "failed";
  failed.error = "boom";
  files.push_back(file_of("beta", "attn_bench_cpu", failed));

  const std::vector<AttentionTable> tables = build_attention_tables(files, {});
  ASSERT_EQ(tables.size(), 1u) << "one ok row with an attention section";
  const AttentionTable& table = tables[0];
  EXPECT_EQ(table.model, "alpha");
  EXPECT_EQ(table.method, "attn_bench_cpu");
  EXPECT_EQ(table.shape,
            "4 heads over 2 kv heads of 16, one layer; 8 threads; f32 KV cache for decode");
  EXPECT_EQ(table.header, (std::vector<std::string>{"kernel", "128 tok p50 ms", "128 tok GFLOP/s",
                                                    "512 tok p50 ms", "512 tok GFLOP/s"}));
  // p50 2, 0.5 and 0.02 ms; GFLOP/s = flops / p50 (result_fixture.h).
  EXPECT_EQ(table.rows, (std::vector<std::vector<std::string>>{
                            {"naive", "2", "1.1", "20", "1234.5"},
                            {"tiled_online_softmax", "0.5", "4.2", "—", "—"},
                            {"split_k_decode", "0.02", "1.6", "0.2", "1234.5"}}));
  ASSERT_EQ(table.unavailable.size(), 3u);
  EXPECT_EQ(table.unavailable[0], "`cuda_flash`: unavailable: this build has no CUDA backend");

  const RenderedTables rendered = render_tables(files, {});
  const std::string heading = "### Attention kernels: `attn_bench_cpu`";
  const std::string row = "| tiled_online_softmax | 0.5 | 4.2 | — | — |";
  const std::string not_run = "- `cudnn_sdpa`: unavailable: this build has no CUDA backend\n";
  for (const std::string& md : {rendered.results_md, rendered.model_md.at("alpha")}) {
    const size_t at = md.find(heading);
    ASSERT_NE(at, std::string::npos) << md;
    EXPECT_GT(at, md.find("| attn_bench_cpu | ok |")) << "under the model's main table";
    EXPECT_NE(md.find("| kernel | 128 tok p50 ms |", at), std::string::npos) << md;
    EXPECT_NE(md.find(row, at), std::string::npos) << md;
    EXPECT_NE(md.find(not_run, at), std::string::npos) << md;
  }
  EXPECT_EQ(rendered.model_md.at("beta").find(heading), std::string::npos) << "a failed row";
}

TEST(Tables, KvCacheProbeByLengthAndFormatAndTheComparedCaches) {
  std::vector<ResultFile> files = sample_files();
  // The fixture's probe holds f32 at 128 tokens; add f32 and int8 at 256.
  ResultRecord probe = test::full_result("alpha", "kv_probe_cpu");
  KvProbeRungRecord longer = probe.kv_probe->rungs.at(0);
  longer.tokens = 256;
  longer.measured_bytes = 2 * 1024 * 1024;
  longer.allocated_bytes = 3 * 1024 * 1024;
  longer.decode_tok_s = 700.4;
  probe.kv_probe->rungs.push_back(longer);
  longer.kv_format = "int8";
  longer.measured_bytes = 1024 * 1024;
  longer.decode_tok_s = 750.0;
  probe.kv_probe->rungs.push_back(longer);
  probe.kv_comparison.reset();
  files.push_back(file_of("alpha", "kv_probe_cpu", probe));
  ResultRecord int8 = test::full_result("alpha", "kv_int8_cpu");
  int8.kv_probe.reset();
  int8.method.kv_cache = "int8";
  files.push_back(file_of("alpha", "kv_int8_cpu", int8));

  const std::string md = render_kv_cache_markdown(files, "alpha", {});
  EXPECT_NE(md.find("### KV-cache probe: `kv_probe_cpu`"), std::string::npos) << md;
  EXPECT_NE(md.find("| tokens | f32 MiB held | f32 MiB allocated | f32 decode tok/s | int8 MiB "
                    "held | int8 MiB allocated | int8 decode tok/s |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 128 | 0.06 | 0.06 | 800 | — | — | — |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 256 | 2.00 | 3.00 | 700 | 1.00 | 3.00 | 750 |"), std::string::npos) << md;
  EXPECT_NE(md.find("- `kv_int8_cpu` (int8 cache) against the f16 cache, same process: 144 bytes a "
                    "token against 256 (0.562x); decode 110 tok/s against 100; identical greedy "
                    "generations on 1 of 1 prompts (identical prefixes: 16/16)."),
            std::string::npos)
      << md;
  EXPECT_EQ(render_kv_cache_markdown(files, "beta", {}), "") << "beta has neither section";
  EXPECT_NE(render_tables(files, {}).results_md.find(md), std::string::npos)
      << "the section is under alpha's table in RESULTS.md";
}

TEST(Tables, OutputIsDeterministic) {
  std::vector<ResultFile> files = sample_files();
  const RenderedTables first = render_tables(files, {});
  std::reverse(files.begin(), files.end());
  const RenderedTables second = render_tables(files, {});
  EXPECT_EQ(first.results_md, second.results_md);
  EXPECT_EQ(first.model_md, second.model_md);
  EXPECT_EQ(first.model_csv, second.model_csv);
}

TEST(Tables, WritesFilesFromAResultsFolder) {
  const std::string dir = test::make_temp_dir();
  const std::string results = dir + "/results";
  for (const ResultFile& file : sample_files()) {
    fs::create_directories(results + "/raw/" + file.model);
    std::ofstream(results + "/raw/" + file.model + "/" + file.method + ".json")
        << to_json(*file.record).dump(2);
  }
  // An atomic-write temporary must not show up as a method.
  std::ofstream(results + "/raw/alpha/.fp16_cpu.json.tmp.AbCdEf") << "{";

  TableOptions options;
  options.command = "tinycompress table --results " + results;
  const std::vector<ResultFile> files = read_results(results);
  ASSERT_EQ(files.size(), 4u);
  write_tables(render_tables(files, options), dir + "/RESULTS.md", results + "/tables");
  const std::string md = read_file(dir + "/RESULTS.md");
  const std::string csv = read_file(results + "/tables/alpha.csv");
  EXPECT_NE(md.find("| +0.012 |"), std::string::npos);
  EXPECT_EQ(md.find("fp16_cpu"), std::string::npos);
  EXPECT_TRUE(fs::exists(results + "/tables/beta.md"));
  EXPECT_TRUE(fs::exists(results + "/tables/beta.csv"));

  // Regenerating from the same files gives byte-identical files.
  write_tables(render_tables(read_results(results), options), dir + "/RESULTS.md",
               results + "/tables");
  EXPECT_EQ(read_file(dir + "/RESULTS.md"), md);
  EXPECT_EQ(read_file(results + "/tables/alpha.csv"), csv);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tc::harness
