#include "tokenizer/split_regex.h"

#include <optional>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"

namespace tc::tokenizer {

namespace {

// Unicode White_Space (what Oniguruma's \s matches with UTF-8), as class members.
constexpr std::string_view kWhiteSpaceMembers =
    "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";
constexpr std::string_view kHexDigitMembers = "0-9a-fA-F";
constexpr std::string_view kNotHexDigitMembers =
    "\\x{0}-\\x{2F}\\x{3A}-\\x{40}\\x{47}-\\x{60}\\x{67}-\\x{10FFFF}";

std::string pcre2_error_message(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0) {
    return fmt::format("PCRE2 error {}", code);
  }
  return reinterpret_cast<const char*>(buffer);
}

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};

// One match-data block per thread: pcre2_match writes into it, so it cannot
// be shared, and allocating one per call would cost more than the match.
struct ThreadMatchData {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  ~ThreadMatchData() { pcre2_match_data_free(data); }
};

pcre2_match_data* thread_match_data() {
  thread_local ThreadMatchData match_data;
  if (match_data.data == nullptr) throw std::bad_alloc();
  return match_data.data;
}

}  // namespace

std::string onig_to_pcre2(std::string_view pattern, const std::string& where) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char escaped = pattern[i + 1];
      i += 2;
      switch (escaped) {
        case 's':
          out +=
              in_class ? std::string(kWhiteSpaceMembers) : fmt::format("[{}]", kWhiteSpaceMembers);
          continue;
        case 'h':
          out += in_class ? std::string(kHexDigitMembers) : fmt::format("[{}]", kHexDigitMembers);
          continue;
        case 'S':
          // Oniguruma's \S is PCRE2's \S plus U+180E. Inside a class the union
          // is written directly; outside, as a negated class.
          out += in_class ? std::string("\\S\\x{180E}") : fmt::format("[^{}]", kWhiteSpaceMembers);
          continue;
        case 'H':
          out +=
              in_class ? std::string(kNotHexDigitMembers) : fmt::format("[^{}]", kHexDigitMembers);
          continue;
        case 'Q': {  // \Q...\E quotes literally: copy through unchanged
          const size_t quote_end = pattern.find("\\E", i);
          const size_t stop = quote_end == std::string_view::npos ? pattern.size() : quote_end + 2;
          out += "\\Q";
          out.append(pattern.substr(i, stop - i));
          i = stop;
          continue;
        }
        default:
          out += c;
          out += escaped;
          continue;
      }
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (i < pattern.size() && pattern[i] == '^') out += pattern[i++];
      if (i < pattern.size() && pattern[i] == ']') out += pattern[i++];  // a literal ']'
      continue;
    }
    if (in_class && c == '[') {
      if (i + 1 < pattern.size() && pattern[i + 1] == ':') {  // POSIX [:name:]
        const size_t close = pattern.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(pattern.substr(i, close + 2 - i));
          i = close + 2;
          continue;
        }
      }
      fail("{}: nested character classes are not supported", where);
    }
    if (in_class && c == ']') in_class = false;
    out += c;
    ++i;
  }
  return out;
}

struct SplitRegex::Compiled {
  std::unique_ptr<pcre2_code, CodeDeleter> code;
  bool jit = false;
};

SplitRegex SplitRegex::compile(std::string_view pattern, bool literal, const std::string& where) {
  const std::string translated = literal ? std::string(pattern) : onig_to_pcre2(pattern, where);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  uint32_t options = PCRE2_UTF | PCRE2_UCP;
  if (literal) options |= PCRE2_LITERAL;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()),
                                   translated.size(), options, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    fail("{}: invalid regex /{}/ (as PCRE2: /{}/, at offset {}): {}", where, pattern, translated,
         error_offset, pcre2_error_message(error_code));
  }
  auto compiled = std::make_shared<Compiled>();
  compiled->code.reset(code);
  // JIT is a speed-up only: where the platform lacks it the interpreter gives
  // the same matches.
  compiled->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  SplitRegex regex;
  regex.compiled_ = std::move(compiled);
  return regex;
}

void SplitRegex::split(std::string_view text, uint32_t base, std::vector<Piece>& pieces) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t length = text.size();
  pcre2_code* code = compiled_->code.get();
  pcre2_match_data* match_data = thread_match_data();
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data);

  auto emit = [&](size_t begin, size_t end) {
    if (begin < end) {
      pieces.push_back({base + static_cast<uint32_t>(begin), base + static_cast<uint32_t>(end)});
    }
  };

  size_t search_from = 0;
  size_t previous_end = 0;  // end of the last emitted piece
  std::optional<size_t> last_match_end;
  while (search_from <= length) {
    int rc;
    if (compiled_->jit) {
      rc = pcre2_jit_match(code, subject, length, search_from, 0, match_data, nullptr);
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {  // deep backtracking: the interpreter uses the heap
        rc = pcre2_match(code, subject, length, search_from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                         match_data, nullptr);
      }
    } else {
      rc = pcre2_match(code, subject, length, search_from, PCRE2_NO_UTF_CHECK, match_data, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail("pre-tokenizer regex failed: {}", pcre2_error_message(rc));
    const size_t start = ovector[0];
    const size_t end = ovector[1];
    // Oniguruma's find_iter: an empty match right where the previous match
    // ended is skipped by stepping one character forward.
    if (start == end && last_match_end == end) {
      if (search_from >= length) break;
      size_t step = 1;
      while (search_from + step < length &&
             (static_cast<unsigned char>(text[search_from + step]) & 0xC0) == 0x80) {
        ++step;
      }
      search_from += step;
      continue;
    }
    search_from = end;
    last_match_end = end;
    emit(previous_end, start);
    emit(start, end);
    previous_end = end;
  }
  emit(previous_end, length);
}

}  // namespace tc::tokenizer
