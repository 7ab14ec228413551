// tinycompress tokenize: encode text (or a file) to token ids, or decode ids
// back to text, with a model's tokenizer.json.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "io/hf_hub.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace tc::apps {

namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string file;
  std::string decode;
  bool json = false;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open --file: {}", path, std::strerror(errno));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("{}: read error", path);
  return content;
}

// "1,2, 3" -> {1, 2, 3}.
std::vector<int32_t> parse_ids(const std::string& list) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(pos, comma - pos);
    const size_t first = item.find_first_not_of(" \t");
    const size_t last = item.find_last_not_of(" \t");
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    if (item.empty()) {
      if (list.find_first_not_of(" \t") == std::string::npos) break;  // --decode "" : no ids
      fail("--decode: empty id in '{}' (expected comma-separated token ids)", list);
    }
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || value < 0 || value > INT32_MAX) {
      fail("--decode: '{}' is not a token id (expected comma-separated non-negative integers)",
           item);
    }
    ids.push_back(static_cast<int32_t>(value));
    pos = comma + 1;
  }
  return ids;
}

void run_tokenize(const TokenizeOptions& options, const CLI::App& command) {
  const size_t inputs =
      command.count("--text") + command.count("--file") + command.count("--decode");
  if (inputs != 1) {
    fail("tokenize: give exactly one of --text, --file or --decode (got {})", inputs);
  }
  const std::string model_dir = io::resolve_model_dir(options.model);
  const auto tokenizer = tokenizer::Tokenizer::from_model_dir(model_dir);

  if (command.count("--decode") != 0) {
    const std::string text = tokenizer.decode(parse_ids(options.decode));
    if (options.json) {
      // Replacement characters keep the text valid UTF-8, so dump cannot throw.
      std::printf("%s\n", nlohmann::json{{"text", text}}.dump().c_str());
    } else {
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
    return;
  }

  const bool from_file = command.count("--file") != 0;
  const std::string input = from_file ? read_file(options.file) : options.text;
  if (const auto bad = tokenizer::find_invalid_utf8(input)) {
    fail("{}: not valid UTF-8 (byte offset {})", from_file ? options.file : "--text", *bad);
  }
  const std::vector<int32_t> ids = tokenizer.encode(input);
  if (options.json) {
    std::printf("{\"ids\":[%s]}\n", fmt::format("{}", fmt::join(ids, ",")).c_str());
  } else {
    std::printf("%s\n", fmt::format("{}", fmt::join(ids, ",")).c_str());
  }
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* command = app.add_subcommand(
      "tokenize", "Encode text to token ids (or decode ids to text) with a model's tokenizer.json");
  command->add_option("--model", options->model, "Model folder or Hugging Face id (local cache)")
      ->required();
  command->add_option("--text", options->text, "Text to encode");
  command->add_option("--file", options->file, "File whose bytes (UTF-8) to encode");
  command->add_option("--decode", options->decode, "Comma-separated token ids to decode");
  command->add_flag("--json", options->json,
                    "Print one JSON object: {\"ids\":[...]} (or {\"text\":...} with --decode)");
  command->callback([options, command] { run_tokenize(*options, *command); });
}

}  // namespace tc::apps
