// tinycompress info: the hardware/software snapshot stored with every result
// (CPU, memory, OS, compiler, library versions, GPU, git revision).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "profile/hardware.h"

namespace tc::apps {

namespace {

using nlohmann::json;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string scalar_text(const std::string& key, const json& value) {
  if (value.is_null()) return "unknown";
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned() && ends_with(key, "_bytes")) {
    const auto bytes = value.get<uint64_t>();
    return fmt::format("{} ({:.1f} GiB)", bytes, bytes / (1024.0 * 1024.0 * 1024.0));
  }
  return value.dump();
}

// Flattens the snapshot into ("cpu.model_name", "AMD EPYC") rows.
void flatten(const std::string& key, const json& value,
             std::vector<std::pair<std::string, std::string>>& rows) {
  if (value.is_object() && value.size() == 2 && value.contains("compiled") &&
      value.contains("runtime")) {
    // A library version: one row, the loaded one beside the built-against one.
    rows.emplace_back(key, fmt::format("{} (runtime: {})", scalar_text(key, value["compiled"]),
                                       scalar_text(key, value["runtime"])));
  } else if (value.is_object()) {
    for (const auto& [name, child] : value.items()) {
      flatten(key.empty() ? name : key + "." + name, child, rows);
    }
  } else if (value.is_array()) {
    if (value.empty()) {
      rows.emplace_back(key, "none");
    } else if (std::all_of(value.begin(), value.end(),
                           [](const json& item) { return item.is_primitive(); })) {
      std::vector<std::string> items;
      for (const json& item : value) items.push_back(scalar_text(key, item));
      rows.emplace_back(key, fmt::format("{}", fmt::join(items, " ")));
    } else {
      for (size_t i = 0; i < value.size(); ++i) {
        flatten(fmt::format("{}[{}]", key, i), value[i], rows);
      }
    }
  } else {
    rows.emplace_back(key, scalar_text(key, value));
  }
}

void run_info(bool as_json) {
  const json snapshot = profile::hardware_snapshot();
  if (as_json) {
    std::printf("%s\n", snapshot.dump(2).c_str());
    return;
  }
  std::vector<std::pair<std::string, std::string>> rows;
  flatten("", snapshot, rows);
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  for (const auto& [key, text] : rows) {
    std::printf("%s\n", fmt::format("{:<{}}  {}", key, width, text).c_str());
  }
}

}  // namespace

void register_info(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "info", "Print the hardware/software snapshot stored with every result");
  command->add_flag("--json", *as_json, "Print the snapshot as one JSON object");
  command->callback([as_json] { run_info(*as_json); });
}

}  // namespace tc::apps
