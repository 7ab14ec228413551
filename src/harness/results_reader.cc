#include "harness/results_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/error.h"

namespace tc::harness {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Hidden files and the temporaries of io::write_file_atomic
// (".<name>.tmp.XXXXXX") are not results.
bool is_ignored_name(const std::string& name) {
  return name.empty() || name[0] == '.' || name.find(".tmp") != std::string::npos;
}

std::vector<fs::path> sorted_entries(const fs::path& folder) {
  std::vector<fs::path> entries;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    entries.push_back(it->path());
  }
  if (error) fail("{}: cannot list folder: {}", folder.string(), error.message());
  // directory_iterator order depends on the file system; sorting keeps every
  // report and table byte-identical for the same files.
  std::sort(entries.begin(), entries.end());
  return entries;
}

// The string at a JSON pointer into the free-form hardware snapshot.
std::optional<std::string> string_at(const json& data, const char* pointer) {
  const json::json_pointer where(pointer);
  if (!data.is_object() || !data.contains(where)) return std::nullopt;
  const json& value = data.at(where);
  if (!value.is_string()) return std::nullopt;
  return value.get<std::string>();
}

std::string usable(std::optional<std::string> text) {
  if (!text || *text == "unknown") return "";
  return *text;
}

}  // namespace

std::string raw_dir(const std::string& results_dir) {
  return (fs::path(results_dir) / "raw").string();
}

ResultFile result_file_of(const std::string& path, const std::string& model,
                          const std::string& method, const json& data) {
  ResultFile file;
  file.path = path;
  file.model = model;
  file.method = method;
  ResultRead read = read_result(data);
  file.record = std::move(read.record);
  file.problems = std::move(read.problems);
  file.refused = read.refused;
  return file;
}

ResultFile read_result_file(const std::string& path, const std::string& model,
                            const std::string& method) {
  ResultFile file;
  file.path = path;
  file.model = model;
  file.method = method;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    file.parse_error = "cannot open file";
    return file;
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    file.parse_error = "read failed";
    return file;
  }
  json data;
  try {
    data = json::parse(content.str());
  } catch (const json::exception& e) {
    file.parse_error = e.what();
    return file;
  }
  return result_file_of(path, model, method, data);
}

std::vector<ResultFile> read_results(const std::string& results_dir) {
  const fs::path raw = raw_dir(results_dir);
  std::error_code error;
  if (!fs::is_directory(raw, error)) {
    fail("{}: not a folder (expected <results>/raw/<model>/<method>.json)", raw.string());
  }
  std::vector<ResultFile> files;
  for (const fs::path& model_dir : sorted_entries(raw)) {
    const std::string model = model_dir.filename().string();
    if (is_ignored_name(model) || !fs::is_directory(model_dir, error)) continue;
    for (const fs::path& file : sorted_entries(model_dir)) {
      const std::string name = file.filename().string();
      if (is_ignored_name(name) || file.extension() != ".json") continue;
      if (!fs::is_regular_file(file, error)) continue;
      files.push_back(read_result_file(file.string(), model, file.stem().string()));
    }
  }
  return files;
}

std::string git_revision_of(const ResultRecord& record) {
  std::string revision = usable(string_at(record.hardware, "/build/git_revision"));
  if (revision.empty()) revision = usable(string_at(record.hardware, "/git_revision"));
  return revision;
}

std::string cpu_model_of(const ResultRecord& record) {
  std::string model = usable(string_at(record.hardware, "/cpu/model_name"));
  if (model.empty()) model = usable(string_at(record.hardware, "/cpu/model"));
  return model;
}

}  // namespace tc::harness
