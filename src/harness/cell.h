// One (model, method) cell: load, apply the method, measure, write the result.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/dataset.h"
#include "harness/methods.h"
#include "harness/result_record.h"
#include "harness/run_config.h"

namespace tc::harness {

struct CellInputs {
  const ModelEntry* model = nullptr;
  const Method* method = nullptr;
  // The model's draft entry (run_config `draft`), for a method that
  // needs_draft; null otherwise.
  const ModelEntry* draft = nullptr;
  const eval::TextSplit* eval_text = nullptr;  // evaluation split (perplexity, latency input)
  std::string calibration_source;              // data set whose train split methods may read
  std::string prompts_file;
  std::vector<std::string> prompts;
  nlohmann::json hardware;  // snapshot taken once per run
  bool show_progress = true;
};

// Measures one cell. Never throws for a failure inside the cell: the result
// then has status "failed" and the error, so the run can go on.
ResultRecord run_cell(const CellInputs& inputs);

// results_dir/raw/<model>/<method>.json
std::string result_path(const std::string& results_dir, const std::string& model,
                        const std::string& method);

// Writes to_json(result) atomically (temporary file, fsync, rename),
// creating folders.
void write_result(const std::string& path, const ResultRecord& result);

// True when `path` holds a result that reads as a record with status "ok"
// (a failed or unreadable one is run again).
bool cell_done(const std::string& path);

}  // namespace tc::harness
