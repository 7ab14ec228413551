#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/unicode.h"

namespace tc::tokenizer {

namespace {

struct Tables {
  std::array<char32_t, 256> to_code_point{};
  std::array<int16_t, 324> to_byte{};  // the alphabet ends at U+0143
  std::array<std::string, 256> to_utf8;
};

bool stands_for_itself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
         (byte >= 0xAE && byte <= 0xFF);
}

std::string encode_utf8(char32_t code_point) {
  std::string out;
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else {  // the alphabet stays below U+0800
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
  return out;
}

const Tables& tables() {
  static const Tables built = [] {
    Tables t;
    t.to_byte.fill(-1);
    char32_t next_extra = 256;
    for (int byte = 0; byte < 256; ++byte) {
      const char32_t cp = stands_for_itself(byte) ? static_cast<char32_t>(byte) : next_extra++;
      t.to_code_point[byte] = cp;
      t.to_byte[cp] = static_cast<int16_t>(byte);
      t.to_utf8[byte] = encode_utf8(cp);
    }
    return t;
  }();
  return built;
}

}  // namespace

char32_t byte_to_code_point(uint8_t byte) { return tables().to_code_point[byte]; }

int code_point_to_byte(char32_t code_point) {
  const Tables& t = tables();
  return code_point < t.to_byte.size() ? t.to_byte[code_point] : -1;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += t.to_utf8[static_cast<uint8_t>(c)];
  return out;
}

std::optional<std::string> byte_level_to_bytes(std::string_view text) {
  if (find_invalid_utf8(text)) return std::nullopt;
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const int byte = code_point_to_byte(next_code_point(text, pos));
    if (byte < 0) return std::nullopt;
    out.push_back(static_cast<char>(byte));
  }
  return out;
}

}  // namespace tc::tokenizer
