// Finding added tokens (special tokens such as <|im_start|>) in text, the
// first step of encoding, before normalization and the regex split.
//
// Matches are leftmost-longest (Hugging Face builds an Aho-Corasick automaton
// with MatchKind::LeftmostLongest): scanning left to right, the first
// position where some token starts wins, and there the longest token. A token
// with lstrip/rstrip also swallows the white space before/after it; one with
// single_word only counts where no word character touches it. Token lists are
// short (Qwen2.5 has 22), so candidates are bucketed by first byte and
// compared directly.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/unicode.h"

namespace tc::tokenizer {

class AddedTokenMatcher {
 public:
  struct Entry {
    std::string text;  // what is matched (normalized content for normalized tokens)
    int32_t id = 0;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
  };

  void build(std::vector<Entry> entries);
  bool empty() const { return entries_.empty(); }

  // Cuts valid UTF-8 `text` into its pieces in order: on_text(std::string_view)
  // for (non-empty) text between tokens, on_token(int32_t id) for each token.
  template <typename OnText, typename OnToken>
  void split(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    if (entries_.empty()) {
      if (!text.empty()) on_text(text);
      return;
    }
    size_t text_start = 0;  // start of the text not yet handed out
    size_t pos = 0;
    while (pos < text.size()) {
      const Entry* match = longest_at(text, pos);
      if (match == nullptr) {
        ++pos;
        continue;
      }
      size_t start = pos;
      size_t end = pos + match->text.size();
      if (match->single_word && !stands_alone(text, start, end)) {
        pos = end;  // the automaton consumed it; no shorter token is tried inside
        continue;
      }
      if (match->lstrip) {
        while (start > text_start) {
          size_t before = start;
          if (!is_white_space(previous_code_point(text, before))) break;
          start = before;
        }
      }
      if (match->rstrip) {
        while (end < text.size()) {
          size_t after = end;
          if (!is_white_space(next_code_point(text, after))) break;
          end = after;
        }
      }
      if (start > text_start) on_text(text.substr(text_start, start - text_start));
      on_token(match->id);
      text_start = pos = end;
    }
    if (text_start < text.size()) on_text(text.substr(text_start));
  }

 private:
  const Entry* longest_at(std::string_view text, size_t pos) const {
    for (const uint16_t index : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      const Entry& entry = entries_[index];
      if (text.compare(pos, entry.text.size(), entry.text) == 0) return &entry;
    }
    return nullptr;
  }
  static bool stands_alone(std::string_view text, size_t start, size_t end);

  std::vector<Entry> entries_;
  // Entry indices by the first byte of their text, longest text first.
  std::array<std::vector<uint16_t>, 256> by_first_byte_;
};

}  // namespace tc::tokenizer
