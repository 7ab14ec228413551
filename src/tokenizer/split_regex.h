// The pre-tokenizer's Split step: a PCRE2 (JIT) regex that cuts text into
// pieces with Hugging Face's "Isolated" behaviour.
//
// Hugging Face compiles Split patterns with Oniguruma. PCRE2 agrees with it on
// everything Qwen2's pattern uses except one character: PCRE2's \s also
// matches U+180E (MONGOLIAN VOWEL SEPARATOR), which Oniguruma (following
// Unicode >= 6.3) does not count as white space. The pattern is therefore
// translated first: \s and \S become explicit classes of the Unicode
// White_Space characters (inside a class, \S becomes PCRE2's \S plus U+180E),
// and Oniguruma's \h/\H (hex digits, not horizontal space as in PCRE2) become
// [0-9a-fA-F] and its complement.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tc::tokenizer {

// Translates an Oniguruma pattern into the PCRE2 pattern with the same
// meaning (see above). Throws tc::Error prefixed with `where` for nested
// character classes (Oniguruma's [a[b]] union, which PCRE2 reads differently).
std::string onig_to_pcre2(std::string_view pattern, const std::string& where);

// A byte range [begin, end) of the split text.
struct Piece {
  uint32_t begin;
  uint32_t end;
};

class SplitRegex {
 public:
  // Compiles `pattern` with PCRE2_UTF | PCRE2_UCP and JIT. A `literal`
  // pattern (Split with pattern.String) matches its text verbatim. Throws
  // tc::Error prefixed with `where` when the pattern does not compile.
  static SplitRegex compile(std::string_view pattern, bool literal, const std::string& where);

  // Appends the pieces of valid UTF-8 `text` to `pieces`, each offset by
  // `base`: every match is a piece, and so is the text between matches
  // ("Isolated"); empty pieces are dropped. Empty matches are found as
  // Oniguruma's find_iter finds them (and split text like any match).
  // Safe to call from several threads at once.
  void split(std::string_view text, uint32_t base, std::vector<Piece>& pieces) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace tc::tokenizer
