#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "core/error.h"

namespace tc::tokenizer {

void AddedTokenMatcher::build(std::vector<Entry> entries) {
  std::erase_if(entries, [](const Entry& entry) { return entry.text.empty(); });
  if (entries.size() > UINT16_MAX) fail("too many added tokens ({})", entries.size());
  entries_ = std::move(entries);
  for (auto& bucket : by_first_byte_) bucket.clear();
  for (size_t i = 0; i < entries_.size(); ++i) {
    by_first_byte_[static_cast<uint8_t>(entries_[i].text[0])].push_back(static_cast<uint16_t>(i));
  }
  for (auto& bucket : by_first_byte_) {
    // Longest first gives leftmost-longest; equal lengths are equal texts
    // only for duplicates, where the first listed wins.
    std::stable_sort(bucket.begin(), bucket.end(), [&](uint16_t a, uint16_t b) {
      return entries_[a].text.size() > entries_[b].text.size();
    });
  }
}

bool AddedTokenMatcher::stands_alone(std::string_view text, size_t start, size_t end) {
  if (start > 0) {
    size_t before = start;
    if (is_word_char(previous_code_point(text, before))) return false;
  }
  if (end < text.size()) {
    size_t after = end;
    if (is_word_char(next_code_point(text, after))) return false;
  }
  return true;
}

}  // namespace tc::tokenizer
