// Reads the result files of a results folder: results/raw/<model>/<method>.json.
// Tables and the audit read results only through this, so both see the same
// set of files, the same records (harness/result_record) and the same errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/result_record.h"

namespace tc::harness {

// One result file. A file that cannot be parsed or read as a record is kept,
// with the reason, so that tables show it and the audit reports it instead
// of both silently skipping it.
struct ResultFile {
  std::string path;                    // <results>/raw/<model>/<method>.json
  std::string model;                   // the folder name
  std::string method;                  // the file name without ".json"
  std::optional<ResultRecord> record;  // set when the file read as a record
  std::string parse_error;             // the file could not be read or parsed as JSON
  // The JSON parsed but is no record: every missing or mistyped field, or
  // the reason it was refused (see read_result).
  std::vector<std::string> problems;
  bool refused = false;
};

// The folder that holds the per-model folders: <results_dir>/raw.
std::string raw_dir(const std::string& results_dir);

// Every <results_dir>/raw/<model>/<method>.json, sorted by (model, method).
// Skips hidden names and atomic-write temporaries (a leading '.' or ".tmp"
// in the name): a half-written file is not a result. Throws tc::Error when
// <results_dir>/raw is not a folder.
std::vector<ResultFile> read_results(const std::string& results_dir);

// Reads one file (for tests and single-file tools); never throws for bad
// content, only records it.
ResultFile read_result_file(const std::string& path, const std::string& model,
                            const std::string& method);

// A parsed file's content as a ResultFile (read_result_file after parsing).
ResultFile result_file_of(const std::string& path, const std::string& model,
                          const std::string& method, const nlohmann::json& data);

// The git revision and CPU model recorded in a result's hardware snapshot
// (hardware.build.git_revision / hardware.cpu.model_name as written by
// profile::hardware_snapshot, or hardware.git_revision / hardware.cpu.model).
// Empty when absent or "unknown".
std::string git_revision_of(const ResultRecord& record);
std::string cpu_model_of(const ResultRecord& record);

}  // namespace tc::harness
