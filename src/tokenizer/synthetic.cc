#include "tokenizer/synthetic.h"

#include <random>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"

namespace tc::tokenizer {

std::string synthetic_tokenizer_json(size_t merge_count, std::string_view split_regex,
                                     bool legacy_merges) {
  constexpr size_t kMaxTokenChars = 16;
  std::vector<std::string> tokens;
  std::vector<size_t> token_chars;  // length in characters (byte-level chars are 1 or 2 bytes)
  std::unordered_set<std::string> known;
  std::vector<size_t> letter_only;  // indices of tokens made of ASCII letters only
  for (int byte = 0; byte < 256; ++byte) {
    tokens.push_back(bytes_to_byte_level(std::string(1, static_cast<char>(byte))));
    token_chars.push_back(1);
    known.insert(tokens.back());
    if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z')) {
      letter_only.push_back(tokens.size() - 1);
    }
  }
  nlohmann::json merges = nlohmann::json::array();
  auto add_merge = [&](size_t left, size_t right) {
    std::string merged = tokens[left] + tokens[right];
    if (token_chars[left] + token_chars[right] > kMaxTokenChars || known.count(merged) != 0) {
      return false;
    }
    if (legacy_merges) {
      merges.push_back(tokens[left] + " " + tokens[right]);
    } else {
      merges.push_back(nlohmann::json::array({tokens[left], tokens[right]}));
    }
    const bool letters = tokens[left].find("\xC4\xA0") == std::string::npos;  // no "Ġ"
    known.insert(merged);
    tokens.push_back(std::move(merged));
    token_chars.push_back(token_chars[left] + token_chars[right]);
    if (letters) letter_only.push_back(tokens.size() - 1);
    return true;
  };

  // Stage 1: "Ġx" and two-letter tokens, like the first merges of a real BPE.
  std::vector<size_t> firsts = letter_only;
  firsts.insert(firsts.begin(), static_cast<size_t>(' '));  // "Ġ" is byte 0x20's character
  const std::vector<size_t> single_letters = letter_only;
  for (const size_t left : firsts) {
    for (const size_t right : single_letters) {
      if (merges.size() >= merge_count) break;
      add_merge(left, right);
    }
  }
  // Stage 2: random longer tokens. std::mt19937's sequence is fixed by the
  // standard (distributions are not), so the vocabulary is the same everywhere.
  std::mt19937 rng(20240611u);
  while (merges.size() < merge_count) {
    const size_t left = 256 + rng() % (tokens.size() - 256);
    const size_t right = letter_only[rng() % letter_only.size()];
    add_merge(left, right);
  }

  nlohmann::json vocab = nlohmann::json::object();
  for (size_t id = 0; id < tokens.size(); ++id) vocab[tokens[id]] = id;
  nlohmann::json added = nlohmann::json::array();
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    added.push_back({{"id", tokens.size() + added.size()},
                     {"content", special},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  const nlohmann::json byte_level = {{"type", "ByteLevel"},
                                     {"add_prefix_space", false},
                                     {"trim_offsets", false},
                                     {"use_regex", false}};
  const nlohmann::json root = {{"version", "1.0"},
                               {"truncation", nullptr},
                               {"padding", nullptr},
                               {"added_tokens", added},
                               {"normalizer", {{"type", "NFC"}}},
                               {"pre_tokenizer",
                                {{"type", "Sequence"},
                                 {"pretokenizers",
                                  {{{"type", "Split"},
                                    {"pattern", {{"Regex", std::string(split_regex)}}},
                                    {"behavior", "Isolated"},
                                    {"invert", false}},
                                   byte_level}}}},
                               {"post_processor", byte_level},
                               {"decoder", byte_level},
                               {"model",
                                {{"type", "BPE"},
                                 {"dropout", nullptr},
                                 {"unk_token", nullptr},
                                 {"continuing_subword_prefix", nullptr},
                                 {"end_of_word_suffix", nullptr},
                                 {"fuse_unk", false},
                                 {"byte_fallback", false},
                                 {"ignore_merges", false},
                                 {"vocab", vocab},
                                 {"merges", merges}}}};
  return root.dump();
}

}  // namespace tc::tokenizer
