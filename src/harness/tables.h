// Result tables: RESULTS.md and results/tables/<model>.{md,csv}, rendered from
// the result files only (never from a live run), so a table can always be
// regenerated and checked against the files it claims to show.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness/results_reader.h"

namespace tc::harness {

// The methods listed first, in this order; every other method follows in
// alphabetical order. The method registry can pass its own list instead.
const std::vector<std::string>& default_method_order();

// `methods` (deduplicated) ordered by `preferred` first, then alphabetically.
std::vector<std::string> order_methods(std::vector<std::string> methods,
                                       const std::vector<std::string>& preferred);

// The method every Δ and speed-up column compares against.
inline constexpr const char* kBaselineMethod = "fp32_cpu";

struct TableOptions {
  // The command line shown in the RESULTS.md header (how to regenerate it).
  std::string command = "tinycompress table";
  std::vector<std::string> method_order = default_method_order();
};

// One model's table as display text: the same cells go into the markdown
// and the CSV file. Missing values are "—", failed cells say "failed: ...",
// never a zero.
struct ModelTable {
  std::string model;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // one per method, in method order
  std::vector<std::string> footnotes;          // per-row notes (the † marks)
};

// One table per model (models in alphabetical order). Every method seen for
// any model gets a row in every model's table, so a cell that was never run
// shows as missing instead of vanishing; except a speculative method (one
// with a `speculative` section in some file), which applies only to models
// with a draft and is listed for the models that have a file for it.
std::vector<ModelTable> build_tables(const std::vector<ResultFile>& files,
                                     const TableOptions& options);

// The speculative table of each model with a speculative row (a result with
// a `speculative` section), models alphabetical, rows in method order:
// draft, k, accept rate, tok/s with and without the draft, speed-up and how
// many prompts gave identical ids.
std::vector<ModelTable> build_speculative_tables(const std::vector<ResultFile>& files,
                                                 const TableOptions& options);

std::string render_markdown_table(const ModelTable& table);

// The attention kernels of a row that measured them (an `attention`
// section, the attn_bench rows): one row per kernel that ran, its p50 ms
// and GFLOP/s at each length, and the kernels that did not run, with why.
// Rendered under the model's table in RESULTS.md and <model>.md (not CSV).
struct AttentionTable {
  std::string model;
  std::string method;
  std::string shape;  // head shape, threads and the decode kernel's cache, as text
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // in slot order (eval::attention_kernel_slots)
  std::vector<std::string> unavailable;        // "`cuda_flash`: unavailable: <reason>"
};

// One table per ok result with an attention section, by model, then in
// `options.method_order`.
std::vector<AttentionTable> build_attention_tables(const std::vector<ResultFile>& files,
                                                   const TableOptions& options);
// A "###" heading, the shape, the table and the unavailable kernels.
std::string render_attention_markdown(const AttentionTable& table);
// The KV-cache section of one model's tables, as markdown ("" when the model
// has neither): the KV probe (a kv_probe section) as a table of its rungs,
// bytes and decode speed per format side by side, and each KV-cache
// comparison (a kv_comparison section) as a line: bytes per token, decode
// speed and identical generations against the baseline cache.
std::string render_kv_cache_markdown(const std::vector<ResultFile>& files, const std::string& model,
                                     const TableOptions& options);

// RFC 4180: CRLF line ends; a field with a comma, quote, CR or LF is quoted
// and its quotes doubled.
std::string render_csv(const ModelTable& table);
std::string csv_field(const std::string& text);

struct RenderedTables {
  std::string results_md;
  std::map<std::string, std::string> model_md;   // by model name
  std::map<std::string, std::string> model_csv;  // by model name
  // The speculative tables (build_speculative_tables), by model name; also
  // part of the markdown above.
  std::map<std::string, std::string> speculative_csv;
};

// Everything `tinycompress table` writes, as text. Deterministic: the same
// files give byte-identical output.
RenderedTables render_tables(const std::vector<ResultFile>& files, const TableOptions& options);

// Writes results_md to out_md, <tables_dir>/<model>.{md,csv} and
// <tables_dir>/<model>.speculative.csv, each atomically; creates tables_dir
// when needed.
void write_tables(const RenderedTables& tables, const std::string& out_md,
                  const std::string& tables_dir);

}  // namespace tc::harness
