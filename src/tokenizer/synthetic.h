// A synthetic tokenizer.json of real size, for the tests and benchmarks that
// check loading and encoding at Qwen2.5 scale (151k tokens, 151k merges)
// without shipping a 7 MB vocabulary.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tc::tokenizer {

// tokenizer.json text with Qwen2's structure (NFC, Split(`split_regex`,
// Isolated) + ByteLevel, BPE, ByteLevel decoder): the 256 byte-level
// characters (ids 0-255, in byte order), then one token per merge (ids
// 256...), then <|endoftext|>, <|im_start|>, <|im_end|>. The first merges join
// "Ġ" or a letter with a letter; later ones join random earlier tokens with
// letter-only tokens, up to 16 characters. Deterministic (fixed seed). Merges
// are written as "left right" strings when `legacy_merges`, else as pairs.
std::string synthetic_tokenizer_json(size_t merge_count, std::string_view split_regex,
                                     bool legacy_merges = true);

}  // namespace tc::tokenizer
