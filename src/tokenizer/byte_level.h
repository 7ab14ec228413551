// GPT-2's byte-level alphabet (bytes_to_unicode): each of the 256 byte values
// is written as one printable code point, so that a vocabulary of strings can
// hold arbitrary bytes. Printable Latin-1 bytes stand for themselves; the
// other 68 (controls, space, 0x7F-0xA0, 0xAD) become U+0100 onwards in order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tc::tokenizer {

// The code point that stands for `byte`.
char32_t byte_to_code_point(uint8_t byte);

// The byte a code point stands for; -1 when it is not in the alphabet.
int code_point_to_byte(char32_t code_point);

// UTF-8 of the byte-level string for raw bytes ("Ġhello" for " hello").
std::string bytes_to_byte_level(std::string_view bytes);

// Raw bytes of a byte-level string, or nullopt when some character is not in
// the alphabet (or `text` is not valid UTF-8).
std::optional<std::string> byte_level_to_bytes(std::string_view text);

}  // namespace tc::tokenizer
