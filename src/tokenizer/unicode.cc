#include "tokenizer/unicode.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <utf8proc.h>

#include "core/error.h"

namespace tc::tokenizer {

namespace {

// Length of the well-formed prefix of the UTF-8 sequence starting at `pos`
// (Unicode Table 3-7) and whether it is complete. For a complete sequence the
// length is the sequence length; otherwise it is the maximal subpart, at
// least 1, which is what one U+FFFD replaces.
struct SequenceCheck {
  size_t length;
  bool valid;
};

SequenceCheck check_sequence(const unsigned char* bytes, size_t size, size_t pos) {
  const unsigned char lead = bytes[pos];
  if (lead < 0x80) return {1, true};
  size_t needed;
  unsigned char second_low = 0x80;
  unsigned char second_high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 2;
    if (lead == 0xE0) second_low = 0xA0;   // no overlongs
    if (lead == 0xED) second_high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 3;
    if (lead == 0xF0) second_low = 0x90;   // no overlongs
    if (lead == 0xF4) second_high = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false};  // 0x80..0xC1 and 0xF5..0xFF never start a sequence
  }
  for (size_t i = 1; i <= needed; ++i) {
    if (pos + i >= size) return {i, false};
    const unsigned char low = i == 1 ? second_low : 0x80;
    const unsigned char high = i == 1 ? second_high : 0xBF;
    if (bytes[pos + i] < low || bytes[pos + i] > high) return {i, false};
  }
  return {needed + 1, true};
}

}  // namespace

std::optional<size_t> find_invalid_utf8(std::string_view bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t pos = 0;
  while (pos < bytes.size()) {
    // ASCII runs are the common case; skip them eight bytes at a time.
    while (pos + 8 <= bytes.size()) {
      uint64_t word;
      std::memcpy(&word, data + pos, sizeof(word));
      if ((word & 0x8080808080808080ull) != 0) break;
      pos += 8;
    }
    if (pos >= bytes.size()) break;
    const SequenceCheck check = check_sequence(data, bytes.size(), pos);
    if (!check.valid) return pos;
    pos += check.length;
  }
  return std::nullopt;
}

std::string utf8_lossy(std::string_view bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  size_t valid_start = 0;  // start of the pending run of valid bytes
  while (pos < bytes.size()) {
    const SequenceCheck check = check_sequence(data, bytes.size(), pos);
    if (check.valid) {
      pos += check.length;
      continue;
    }
    out.append(bytes.substr(valid_start, pos - valid_start));
    out.append(kReplacement);
    pos += check.length;
    valid_start = pos;
  }
  out.append(bytes.substr(valid_start));
  return out;
}

char32_t next_code_point(std::string_view text, size_t& pos) {
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char lead = data[pos];
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  size_t extra;
  char32_t value;
  if (lead < 0xE0) {
    extra = 1;
    value = lead & 0x1F;
  } else if (lead < 0xF0) {
    extra = 2;
    value = lead & 0x0F;
  } else {
    extra = 3;
    value = lead & 0x07;
  }
  for (size_t i = 1; i <= extra && pos + i < text.size(); ++i) {
    value = (value << 6) | (data[pos + i] & 0x3F);
  }
  pos += extra + 1;
  return value;
}

char32_t previous_code_point(std::string_view text, size_t& end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  size_t pos = start;
  const char32_t value = next_code_point(text, pos);
  end = start;
  return value;
}

bool may_need_nfc(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0xCC) return true;
  }
  return false;
}

namespace {

std::string utf8proc_nfc(std::string_view text) {
  if (text.empty()) return {};
  utf8proc_uint8_t* mapped = nullptr;
  // An explicit length (no UTF8PROC_NULLTERM) so embedded NUL bytes survive.
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  if (length < 0) fail("NFC normalization failed: {}", utf8proc_errmsg(length));
  return std::string(reinterpret_cast<const char*>(mapped), static_cast<size_t>(length));
}

}  // namespace

std::string nfc_reference(std::string_view text) {
  // utf8proc 2.8 (Debian 12) composes an LV Hangul syllable with a following
  // U+11A7 as if it were a trailing consonant and drops the U+11A7 (fixed
  // upstream in utf8proc PR #317; Rust's unicode-normalization, which Hugging
  // Face uses, has been right since 2018). U+11A7 has combining class 0, no
  // decomposition and composes with nothing, so cutting the text in front of
  // it and normalizing the pieces separately is exact and avoids the bug.
  constexpr std::string_view kJamo11A7 = "\xE1\x86\xA7";
  size_t cut = text.find(kJamo11A7, 1);
  if (cut == std::string_view::npos) return utf8proc_nfc(text);
  std::string out;
  size_t start = 0;
  while (cut != std::string_view::npos) {
    out += utf8proc_nfc(text.substr(start, cut - start));
    start = cut;
    cut = text.find(kJamo11A7, cut + kJamo11A7.size());
  }
  out += utf8proc_nfc(text.substr(start));
  return out;
}

namespace {

// The code points before which NFC may cut text into independent pieces:
// NFC(x + y) == NFC(x) + NFC(y) whenever y starts with one. Such a code point
// has canonical combining class 0 (so no mark reorders across it), is left
// alone by NFC, and is never the second part of a canonical composition (so
// it cannot fuse with what precedes it). Derived once from utf8proc's own
// tables, so it follows the same Unicode version as the normalization.
// Every code point below U+0300 qualifies, which nfc() checks without the
// table.
class NfcBoundaries {
 public:
  NfcBoundaries() : boundary_(kCodePoints / 64, 0) {
    std::vector<uint64_t> second(kCodePoints / 64, 0);
    auto set = [](std::vector<uint64_t>& bits, utf8proc_int32_t cp) {
      bits[static_cast<size_t>(cp) / 64] |= uint64_t{1} << (cp % 64);
    };
    for (utf8proc_int32_t cp = 0; cp < static_cast<utf8proc_int32_t>(kCodePoints); ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;  // surrogates are not in valid UTF-8
      const utf8proc_property_t* property = utf8proc_get_property(cp);
      bool stable = property->combining_class == 0;
      // decomp_type 0 with a decomposition: a canonical one (NFC ignores the
      // compatibility ones).
      if (property->decomp_seqindex != UINT16_MAX && property->decomp_type == 0) {
        utf8proc_int32_t parts[16];
        utf8proc_int32_t boundclass = 0;
        const utf8proc_ssize_t count =
            utf8proc_decompose_char(cp, parts, 16, UTF8PROC_DECOMPOSE, &boundclass);
        // Every later part of a decomposition may compose with what is before
        // it (a superset of the true second parts, which only costs speed).
        for (utf8proc_ssize_t i = 1; i < count && i < 16; ++i) set(second, parts[i]);
        const std::string alone = encode(static_cast<char32_t>(cp));
        stable = stable && nfc_reference(alone) == alone;
      }
      if (stable) set(boundary_, cp);
    }
    // Hangul composes algorithmically: leading+vowel jamo, syllable+trailing jamo.
    for (utf8proc_int32_t cp = 0x1161; cp <= 0x1175; ++cp) set(second, cp);
    for (utf8proc_int32_t cp = 0x11A8; cp <= 0x11C2; ++cp) set(second, cp);
    for (size_t i = 0; i < boundary_.size(); ++i) boundary_[i] &= ~second[i];
  }

  bool operator()(char32_t cp) const {
    return cp < kCodePoints && ((boundary_[cp / 64] >> (cp % 64)) & 1) != 0;
  }

 private:
  static constexpr size_t kCodePoints = 0x110000;
  static std::string encode(char32_t cp) {
    utf8proc_uint8_t buffer[4];
    const utf8proc_ssize_t length = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buffer);
    return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(length));
  }
  std::vector<uint64_t> boundary_;
};

const NfcBoundaries& nfc_boundaries() {
  static const NfcBoundaries table;
  return table;
}

// Lead bytes below 0xCC start code points below U+0300, all NFC boundaries.
constexpr unsigned char kFirstNonTrivialLead = 0xCC;

}  // namespace

std::string nfc(std::string_view text) {
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const size_t size = text.size();
  size_t pos = 0;
  while (pos < size && data[pos] < kFirstNonTrivialLead) ++pos;
  if (pos == size) return std::string(text);

  const NfcBoundaries& is_boundary = nfc_boundaries();
  std::string out;
  out.reserve(size + 16);
  size_t copied = 0;         // text[0, copied) is in `out`
  size_t last_boundary = 0;  // start of the last boundary code point seen
  // Everything before `pos` is below U+0300; the last such code point is the
  // boundary in front of pos.
  if (pos > 0) {
    size_t before = pos;
    previous_code_point(text, before);
    last_boundary = before;
  }
  while (pos < size) {
    const size_t start = pos;
    if (data[pos] < kFirstNonTrivialLead) {
      pos += data[pos] < 0x80 ? 1 : 2;
      last_boundary = start;
      continue;
    }
    if (is_boundary(next_code_point(text, pos))) {
      last_boundary = start;
      continue;
    }
    // A code point NFC may change: normalize from the boundary before it to
    // the next boundary after it.
    size_t end = pos;
    while (end < size) {
      if (data[end] < kFirstNonTrivialLead) break;
      size_t next = end;
      if (is_boundary(next_code_point(text, next))) break;
      end = next;
    }
    out.append(text.substr(copied, last_boundary - copied));
    out += nfc_reference(text.substr(last_boundary, end - last_boundary));
    copied = pos = end;
    last_boundary = end;
  }
  out.append(text.substr(copied));
  return out;
}

bool is_white_space(char32_t c) {
  if (c >= 0x09 && c <= 0x0D) return true;
  switch (c) {
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_word_char(char32_t c) {
  if (c == '_') return true;
  if (c < 0x80) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  // Letters, marks, digits and connector punctuation: Unicode's \w, which is
  // what regex_syntax::is_word_character (used by Hugging Face) tests.
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

}  // namespace tc::tokenizer
