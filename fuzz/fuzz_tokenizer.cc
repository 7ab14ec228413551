// libFuzzer target for the byte-level BPE tokenizer.
//
// The input is text. encode() must either return ids or, for ill-formed
// UTF-8 only, throw tc::Error. For well-formed input it checks, and aborts
// when one fails:
//   - decode(encode(x)) is x with NFC applied between added tokens, computed
//     here independently (leftmost-longest search for the added tokens, then
//     utf8proc over each whole stretch between them);
//   - the fast nfc() agrees with utf8proc's NFC of the whole input;
//   - every id is below id_limit().
// It also decodes the input read as little-endian ids (modulo id_limit()) and
// checks that the result is well-formed UTF-8 (ill-formed bytes replaced).
//
// The tokenizer is loaded once: $TC_FUZZ_TOKENIZER, else the fixture model's
// <repo>/models/tiny-qwen2-s/tokenizer.json.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

using tc::tokenizer::Tokenizer;

const Tokenizer& tokenizer() {
  static const Tokenizer loaded = [] {
    const char* env = std::getenv("TC_FUZZ_TOKENIZER");
    const std::string path =
        env != nullptr && *env != '\0'
            ? std::string(env)
            : std::string(TC_SOURCE_DIR) + "/models/tiny-qwen2-s/tokenizer.json";
    try {
      Tokenizer t = Tokenizer::from_file(path);
      for (const auto& token : t.added_tokens()) {
        // The independent expectation below knows plain added tokens only.
        if (token.lstrip || token.rstrip || token.single_word || token.normalized) {
          std::fprintf(stderr,
                       "fuzz_tokenizer: added token '%s' has lstrip/rstrip/"
                       "single_word/normalized, which this harness does not model\n",
                       token.content.c_str());
          std::abort();
        }
      }
      return t;
    } catch (const tc::Error& e) {
      std::fprintf(stderr, "fuzz_tokenizer: %s\n", e.what());
      std::abort();
    }
  }();
  return loaded;
}

// The text encode() should see: added tokens as written, NFC in between.
std::string expected_text(const Tokenizer& t, std::string_view text) {
  std::string out;
  size_t segment_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t best = 0;
    for (const auto& token : t.added_tokens()) {
      if (token.content.size() > best && text.substr(pos).starts_with(token.content)) {
        best = token.content.size();
      }
    }
    if (best == 0) {
      ++pos;
      continue;
    }
    out += tc::tokenizer::nfc_reference(text.substr(segment_start, pos - segment_start));
    out.append(text.substr(pos, best));
    pos += best;
    segment_start = pos;
  }
  out += tc::tokenizer::nfc_reference(text.substr(segment_start));
  return out;
}

[[noreturn]] void report(const char* what, std::string_view input, std::string_view got,
                         std::string_view want) {
  std::fprintf(stderr,
               "fuzz_tokenizer: %s\n  input (%zu bytes)\n  got  %zu bytes: %.*s\n"
               "  want %zu bytes: %.*s\n",
               what, input.size(), got.size(), static_cast<int>(got.size()), got.data(),
               want.size(), static_cast<int>(want.size()), want.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tokenizer& t = tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool well_formed = !tc::tokenizer::find_invalid_utf8(text).has_value();

  std::vector<int32_t> ids;
  bool threw = false;
  try {
    ids = t.encode(text);
  } catch (const tc::Error& e) {
    if (well_formed) report("encode threw on well-formed UTF-8", text, e.what(), "");
    threw = true;
  }
  if (well_formed) {
    for (const int32_t id : ids) {
      if (id < 0 || id >= t.id_limit()) report("id out of range", text, "", "");
    }
    const std::string decoded = t.decode(ids);
    const std::string want = expected_text(t, text);
    if (decoded != want) report("decode(encode(x)) != NFC(x)", text, decoded, want);
    const std::string fast = tc::tokenizer::nfc(text);
    const std::string reference = tc::tokenizer::nfc_reference(text);
    if (fast != reference) report("nfc() != utf8proc NFC", text, fast, reference);
  } else if (!threw) {
    report("encode accepted ill-formed UTF-8", text, "", "");
  }

  // The same bytes as ids: decoding must give well-formed UTF-8.
  std::vector<int32_t> as_ids;
  for (size_t i = 0; i + 4 <= size; i += 4) {
    uint32_t value;
    std::memcpy(&value, data + i, sizeof(value));
    as_ids.push_back(static_cast<int32_t>(value % static_cast<uint32_t>(t.id_limit())));
  }
  try {
    const std::string decoded = t.decode(as_ids);
    if (tc::tokenizer::find_invalid_utf8(decoded)) {
      report("decode produced ill-formed UTF-8", text, decoded, "");
    }
  } catch (const tc::Error&) {
    // An id in a gap of the vocabulary: refused, as documented.
  }
  return 0;
}
