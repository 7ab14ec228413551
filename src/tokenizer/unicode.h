// UTF-8 helpers for the tokenizer: validation, Hugging Face's lossy decoding,
// NFC normalization (utf8proc) and the few character classes the added-token
// matcher needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tc::tokenizer {

// Byte offset of the first byte that does not start a well-formed UTF-8
// sequence (overlongs, surrogates and code points above U+10FFFF are
// ill-formed); nullopt when the whole string is valid.
std::optional<size_t> find_invalid_utf8(std::string_view bytes);

// Rust's String::from_utf8_lossy, which Hugging Face's ByteLevel decoder uses:
// every maximal subpart of an ill-formed sequence (Unicode 15, section 3.9,
// "U+FFFD Substitution of Maximal Subparts") becomes one U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// Decodes the code point at `pos` of valid UTF-8 and advances `pos` past it.
char32_t next_code_point(std::string_view text, size_t& pos);
// Decodes the code point that ends at `end` (exclusive) of valid UTF-8 and
// moves `end` back to its first byte.
char32_t previous_code_point(std::string_view text, size_t& end);

// False when `text` is certainly NFC already: every code point below U+0300
// is NFC-stable and never combines with its neighbours, and those are exactly
// the code points whose UTF-8 lead byte is below 0xCC.
bool may_need_nfc(std::string_view text);

// Unicode NFC of valid UTF-8. Only the stretches around characters that NFC
// may change or combine go through utf8proc; the rest is copied, which makes
// mostly-ASCII text with the odd dash or accent several times faster than
// nfc_reference while giving the same result.
std::string nfc(std::string_view text);

// Unicode NFC of valid UTF-8 by utf8proc over the whole text (UTF8PROC_STABLE
// | UTF8PROC_COMPOSE), working around utf8proc 2.8's one Hangul bug (see the
// .cc): the definition nfc() must agree with.
std::string nfc_reference(std::string_view text);

// Rust's char::is_whitespace (the Unicode White_Space property), which
// Hugging Face uses for the lstrip/rstrip of added tokens.
bool is_white_space(char32_t code_point);

// Rust's char::is_alphanumeric or '_', the word test of single_word added tokens.
bool is_word_char(char32_t code_point);

}  // namespace tc::tokenizer
