// A deterministic, made-up byte-level BPE tokenizer in the exact file format
// and structure of the Qwen2/Qwen2.5 tokenizer, written beside the random
// checkpoints of `tinycompress init-random` so that those folders work with
// every command (tokenize, generate) at the real vocabulary size without
// shipping Qwen's 7 MB vocabulary.
//
// tokenizer.json: NFC normalizer; pre-tokenizer Sequence[Split(Qwen2 regex,
// Isolated), ByteLevel(add_prefix_space=false, use_regex=false)]; ByteLevel
// post-processor and decoder; BPE model whose vocabulary is the 256
// byte-level characters (ids 0-255, ordered by code point as the Hugging Face
// trainer orders its initial alphabet) followed by one token per merge; then
// Qwen2.5's 22 added tokens (<|endoftext|>, <|im_start|>, <|im_end|>, ...)
// from id `learned_tokens` on. Real Qwen2.5 has 151643 learned tokens, so
// <|endoftext|> is 151643 as there.
//
// The merges imitate what BPE learns, so that encoding real text exercises
// long merge chains: runs of spaces and newlines, punctuation runs,
// (space-prefixed) ASCII words grown letter by letter, accented Latin,
// Greek, Cyrillic, CJK, kana and Hangul characters (their UTF-8 bytes merged)
// and words of them. Every token is reachable through the Qwen2 regex's
// pieces. The same options give byte-identical files.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tc::tokenizer {

struct SyntheticTokenizerOptions {
  // 256 byte tokens + (learned_tokens - 256) merges; at least 256 + 64.
  int64_t learned_tokens = 151643;
  // tokenizer_config.json's model_max_length.
  int64_t model_max_length = 131072;
  // The vocabulary depends only on this (not on the model weights' seed), so
  // every init-random checkpoint shares one tokenizer, as Qwen2.5's sizes do.
  uint64_t seed = 0x5157454e32ull;
};

struct SyntheticAddedToken {
  std::string_view content;
  bool special;  // as in Qwen2.5: the tool-call and FIM markers are not special
};

// Qwen2.5's 22 added tokens in id order (<|endoftext|> first).
std::span<const SyntheticAddedToken> qwen2_added_tokens();

// Qwen2's pre-tokenizer Split regex (Oniguruma syntax, as in tokenizer.json).
std::string_view qwen2_split_regex();

// tokenizer.json and tokenizer_config.json texts.
std::string synthetic_tokenizer_json_text(const SyntheticTokenizerOptions& options);
std::string synthetic_tokenizer_config_text(const SyntheticTokenizerOptions& options);

// Writes dir/tokenizer.json and dir/tokenizer_config.json (atomically).
void write_synthetic_tokenizer(const std::string& dir, const SyntheticTokenizerOptions& options);

}  // namespace tc::tokenizer
