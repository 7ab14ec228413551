#include "harness/run_config.h"

#include <algorithm>
#include <filesystem>

#include <toml++/toml.h>

#include "core/error.h"

namespace tc::harness {

namespace fs = std::filesystem;

namespace {

// Reads an optional positive integer key of `table` into `value`.
void read_int(const toml::table& table, const char* key, int64_t& value, const std::string& where,
              int64_t minimum = 1) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return;
  const auto number = node->value<int64_t>();
  if (!number || *number < minimum) {
    fail("{}: '{}' must be an integer >= {}", where, key, minimum);
  }
  value = *number;
}

// Reads an optional array of increasing positive integers.
void read_ladder(const toml::table& table, const char* key, std::vector<int64_t>& ladder,
                 const std::string& where) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  const auto refuse = [&] {
    fail("{}: '{}' must be a non-empty array of increasing integers >= 1", where, key);
  };
  if (array == nullptr || array->empty()) refuse();
  std::vector<int64_t> values;
  for (const auto& item : *array) {
    const auto number = item.value<int64_t>();
    if (!number || *number < 1 || (!values.empty() && *number <= values.back())) refuse();
    values.push_back(*number);
  }
  ladder = std::move(values);
}

void read_settings(const toml::table& table, HarnessSettings& settings, const std::string& where) {
  read_int(table, "n_warmup", settings.n_warmup, where);
  read_int(table, "n_iters", settings.n_iters, where);
  read_int(table, "seq_len_for_latency", settings.seq_len_for_latency, where);
  read_int(table, "ppl_max_length", settings.ppl_max_length, where, 2);
  read_int(table, "ppl_stride", settings.ppl_stride, where);
  read_int(table, "max_new_tokens", settings.max_new_tokens, where);
  read_ladder(table, "kv_probe_ladder", settings.kv_probe_ladder, where);
  if (settings.ppl_stride > settings.ppl_max_length) {
    fail("{}: ppl_stride ({}) must not exceed ppl_max_length ({})", where, settings.ppl_stride,
         settings.ppl_max_length);
  }
}

std::string read_string(const toml::table& table, const char* key, const std::string& where,
                        bool required, const std::string& fallback = "") {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    if (required) fail("{}: missing key '{}'", where, key);
    return fallback;
  }
  const auto text = node->value<std::string>();
  if (!text) fail("{}: '{}' must be a string", where, key);
  return *text;
}

std::vector<std::string> read_string_list(const toml::table& table, const char* key,
                                          const std::string& where) {
  std::vector<std::string> out;
  const toml::node* node = table.get(key);
  if (node == nullptr) return out;
  const toml::array* array = node->as_array();
  if (array == nullptr) fail("{}: '{}' must be an array of strings", where, key);
  for (const auto& item : *array) {
    const auto text = item.value<std::string>();
    if (!text) fail("{}: '{}' must be an array of strings", where, key);
    out.push_back(*text);
  }
  return out;
}

// Relative paths are relative to the config file.
std::string resolve_path(const std::string& base, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base) / path).lexically_normal().string();
}

}  // namespace

const ModelEntry& RunConfig::model(const std::string& name) const {
  for (const auto& entry : models) {
    if (entry.name == name) return entry;
  }
  std::string known;
  for (const auto& entry : models) known += (known.empty() ? "" : ", ") + entry.name;
  fail("{}: no model named '{}' (known: {})", file, name, known);
}

RunConfig load_run_config(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{}: config file not found", path);
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    fail("{}:{}:{}: {}", path, error.source().begin.line, error.source().begin.column,
         std::string(error.description()));
  }
  RunConfig config;
  config.file = path;
  config.base_dir = fs::absolute(path).parent_path().string();

  const toml::table empty;
  const toml::table* harness = root["harness"].as_table();
  const toml::table& h = harness ? *harness : empty;
  const std::string harness_where = path + ": [harness]";
  read_settings(h, config.defaults, harness_where);
  // Threads are a run-wide setting: the kernels share one pool.
  read_int(h, "threads", config.threads, harness_where, 0);
  config.prompts_file = resolve_path(
      config.base_dir, read_string(h, "prompts", harness_where, false, "prompts/prompts.txt"));
  config.results_dir =
      resolve_path(config.base_dir, read_string(h, "results", harness_where, false, "results"));

  const toml::table* data = root["data"].as_table();
  const toml::table& d = data ? *data : empty;
  const std::string data_where = path + ": [data]";
  for (const auto& candidate : read_string_list(d, "eval", data_where)) {
    config.eval_candidates.push_back(resolve_path(config.base_dir, candidate));
  }
  for (const auto& candidate : read_string_list(d, "calibration", data_where)) {
    config.calibration_candidates.push_back(resolve_path(config.base_dir, candidate));
  }
  config.eval_split = read_string(d, "eval_split", data_where, false, "test");
  config.calibration_split = read_string(d, "calibration_split", data_where, false, "train");
  if (config.eval_candidates.empty()) fail("{}: 'eval' lists no data set", data_where);
  if (config.calibration_split != "train") {
    fail(
        "{}: calibration_split must be 'train' (calibration and training data never come from "
        "an evaluation split), got '{}'",
        data_where, config.calibration_split);
  }

  const toml::array* models = root["models"].as_array();
  if (models == nullptr || models->empty()) fail("{}: no [[models]] entries", path);
  for (size_t i = 0; i < models->size(); ++i) {
    const toml::table* table = (*models)[i].as_table();
    const std::string where = path + ": [[models]] #" + std::to_string(i + 1);
    if (table == nullptr) fail("{}: must be a table", where);
    ModelEntry entry;
    entry.name = read_string(*table, "name", where, true);
    const std::string named = path + ": model '" + entry.name + "'";
    // Either a folder (relative to this file) or a Hugging Face id looked up
    // in the local cache; never guessed from the spelling.
    const std::string folder = read_string(*table, "path", named, false);
    const std::string hub_id = read_string(*table, "hf_id", named, false);
    if (folder.empty() == hub_id.empty()) {
      fail("{}: give exactly one of 'path' (a model folder) or 'hf_id' (e.g. Qwen/Qwen2.5-0.5B)",
           named);
    }
    entry.path = hub_id.empty() ? resolve_path(config.base_dir, folder) : hub_id;
    entry.role = read_string(*table, "role", named, false, "target");
    entry.draft = read_string(*table, "draft", named, false);
    if (const toml::node* node = table->get("default")) {
      const auto flag = node->value<bool>();
      if (!flag) fail("{}: 'default' must be true or false", named);
      entry.in_default_run = *flag;
    }
    entry.settings = config.defaults;
    read_settings(*table, entry.settings, named);
    // A [models.harness] table under the entry overrides harness settings too.
    if (const toml::table* overrides = (*table)["harness"].as_table()) {
      read_settings(*overrides, entry.settings, named + " [harness]");
    }
    for (const auto& other : config.models) {
      if (other.name == entry.name) fail("{}: model name '{}' appears twice", path, entry.name);
    }
    config.models.push_back(std::move(entry));
  }
  // Drafts are checked once every name is known (a draft may come later).
  for (const ModelEntry& entry : config.models) {
    if (entry.draft.empty()) continue;
    const std::string named = path + ": model '" + entry.name + "'";
    if (entry.draft == entry.name) fail("{}: 'draft' names the model itself", named);
    const bool known =
        std::any_of(config.models.begin(), config.models.end(),
                    [&](const ModelEntry& other) { return other.name == entry.draft; });
    if (!known) fail("{}: 'draft' names '{}', which is no model of this file", named, entry.draft);
  }

  const toml::table* methods = root["methods"].as_table();
  config.default_methods = methods ? read_string_list(*methods, "default", path + ": [methods]")
                                   : std::vector<std::string>{};
  if (config.default_methods.empty()) fail("{}: [methods] default lists no method", path);
  return config;
}

}  // namespace tc::harness
