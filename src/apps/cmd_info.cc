// tinycompress info: the hardware/software snapshot stored with every result
// (CPU, memory, OS, compiler, library versions, GPU, git revision).
#include <algorithm>
#include <cstdint>
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
using Rows = std::vector<std::pair<std::string, std::string>>;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string bytes_text(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes)
                   : fmt::format("{} ({:.1f} {})", bytes, value, units[unit]);
}

std::string scalar_text(const std::string& key, const json& value) {
  if (value.is_null()) return "unknown";
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned() && ends_with(key, "_bytes")) {
    return bytes_text(value.get<uint64_t>());
  }
  return value.dump();
}

// "/cpu/caches/l2_bytes" -> "cpu.caches.l2_bytes".
std::string dotted(std::string pointer) {
  std::replace(pointer.begin(), pointer.end(), '/', '.');
  return pointer.substr(1);
}

void add_value(const std::string& key, const json& value, Rows& rows) {
  if (value.is_array() && value.empty()) {
    rows.emplace_back(key, "none");
  } else if (value.is_array() && std::all_of(value.begin(), value.end(), [](const json& item) {
               return item.is_primitive();
             })) {
    std::vector<std::string> items;
    for (const json& item : value) items.push_back(scalar_text(key, item));
    rows.emplace_back(key, fmt::format("{}", fmt::join(items, " ")));
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i)
      add_value(fmt::format("{}[{}]", key, i), value[i], rows);
  } else if (value.is_object()) {
    for (const auto& [name, child] : value.items()) add_value(key + "." + name, child, rows);
  } else {
    rows.emplace_back(key, scalar_text(key, value));
  }
}

// One row per field, in the schema's reading order; a library's compiled and
// run-time versions share a row.
Rows listing(const json& snapshot) {
  Rows rows;
  for (const std::string& field : profile::hardware_snapshot_fields()) {
    const json::json_pointer pointer(field);
    if (!snapshot.contains(pointer)) continue;
    if (field.rfind("/libraries/", 0) == 0) {
      if (!ends_with(field, "/compiled")) continue;
      const std::string library = field.substr(0, field.size() - std::string("/compiled").size());
      const json& runtime = snapshot.value(json::json_pointer(library + "/runtime"), json());
      rows.emplace_back(dotted(library),
                        fmt::format("{} (runtime: {})", scalar_text(field, snapshot.at(pointer)),
                                    scalar_text(field, runtime)));
      continue;
    }
    add_value(dotted(field), snapshot.at(pointer), rows);
  }
  return rows;
}

void run_info(bool as_json) {
  const json snapshot = profile::hardware_snapshot();
  if (as_json) {
    std::printf("%s\n", snapshot.dump(2).c_str());
    return;
  }
  const Rows rows = listing(snapshot);
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  for (const auto& [key, text] : rows) {
    std::printf("%s\n", fmt::format("{:<{}}  {}", key, width, text).c_str());
  }
}

}  // namespace

void register_info(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* command =
      app.add_subcommand("info", "Print the hardware/software snapshot stored with every result");
  command->add_flag("--json", *as_json, "Print the snapshot as one JSON object");
  command->callback([as_json] { run_info(*as_json); });
}

}  // namespace tc::apps
