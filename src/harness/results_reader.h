// Reads the result files of a results folder: results/raw/<model>/<method>.json.
// Tables and the audit read results only through this, so both see the same
// set of files and the same parse errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tc::harness {

// One result file. A file that cannot be read or parsed is kept, with
// parse_error set and data null, so that tables show it and the audit reports
// it instead of both silently skipping it.
struct ResultFile {
  std::string path;    // <results>/raw/<model>/<method>.json
  std::string model;   // the folder name
  std::string method;  // the file name without ".json"
  nlohmann::json data;
  std::string parse_error;  // empty when data was parsed
};

// The folder that holds the per-model folders: <results_dir>/raw.
std::string raw_dir(const std::string& results_dir);

// Every <results_dir>/raw/<model>/<method>.json, sorted by (model, method).
// Skips hidden names and atomic-write temporaries (a leading '.' or ".tmp"
// in the name): a half-written file is not a result. Throws tc::Error when
// <results_dir>/raw is not a folder.
std::vector<ResultFile> read_results(const std::string& results_dir);

// Parses one file (for tests and single-file tools); never throws for bad
// content, only records it in parse_error.
ResultFile read_result_file(const std::string& path, const std::string& model,
                            const std::string& method);

// The value at a JSON pointer ("/latency/ms/p50") if it is a finite number.
std::optional<double> number_at(const nlohmann::json& data, const char* pointer);
// The value at a JSON pointer if it is a string.
std::optional<std::string> string_at(const nlohmann::json& data, const char* pointer);

// The git revision and CPU model recorded in a result's hardware snapshot
// (hardware.build.git_revision / hardware.cpu.model_name as written by
// profile::hardware_snapshot, or hardware.git_revision / hardware.cpu.model).
// Empty when absent or "unknown".
std::string git_revision_of(const nlohmann::json& data);
std::string cpu_model_of(const nlohmann::json& data);

}  // namespace tc::harness
