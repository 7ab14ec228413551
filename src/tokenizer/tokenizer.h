// Byte-level BPE tokenizer loaded from a Hugging Face tokenizer.json, with the
// structure Qwen2/Qwen2.5 use:
//   normalizer     NFC (or none)
//   pre_tokenizer  Sequence[Split(Regex, Isolated)..., ByteLevel(add_prefix_space=false,
//                  use_regex=false)] (or ByteLevel alone)
//   model          BPE (vocab, merges as "a b" strings or ["a", "b"] pairs)
//   decoder        ByteLevel
//   added_tokens   matched in the text before anything else
// Anything else is refused at load with a tc::Error naming the file and the
// field, so a tokenizer that loads encodes exactly as Hugging Face's does.
//
// encode() follows tokenizer.encode(text, add_special_tokens=False) with
// split_special_tokens=False: added tokens written in the text are matched
// (leftmost-longest; those with normalized=false in the raw text, the others
// in the normalized text), the rest is NFC-normalized, split by the regex and
// merged by BPE. The post_processor is not applied (it only adds tokens when
// add_special_tokens is true), nor are truncation and padding.
//
// Thread safety: a Tokenizer is immutable after loading except for its
// internal word cache, which is sharded and mutex-protected, so encode() and
// decode() may run on one Tokenizer from many threads at once. Copies are
// cheap and share the loaded tables and the cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tc::tokenizer {

// One entry of tokenizer.json's "added_tokens".
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

class Tokenizer {
 public:
  // Loads a tokenizer.json; throws tc::Error naming the file (and the field)
  // when it is missing, malformed or uses something unsupported.
  static Tokenizer from_file(const std::string& tokenizer_json_path);
  // Loads `dir`/tokenizer.json.
  static Tokenizer from_model_dir(const std::string& dir);

  // Token ids of UTF-8 `text` (add_special_tokens=false semantics). Throws
  // tc::Error when `text` is not valid UTF-8 (the byte offset is named).
  std::vector<int32_t> encode(std::string_view text) const;

  // Text of `ids`: token strings concatenated, byte-level characters mapped
  // back to bytes, ill-formed UTF-8 replaced by U+FFFD as Hugging Face's
  // ByteLevel decoder does. Added tokens are included (skip_special_tokens is
  // false). Throws tc::Error on an id that names no token.
  std::string decode(std::span<const int32_t> ids) const;

  // The id of a token string (byte-level spelling for vocabulary tokens,
  // e.g. "Ġthe"; content for added tokens).
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token string of an id, nullopt for ids that name no token.
  std::optional<std::string> id_to_token(int32_t id) const;

  // Number of distinct tokens, added tokens included (Hugging Face's
  // get_vocab_size(with_added_tokens=True)).
  size_t vocab_size() const;
  // One past the largest token id (what an embedding table must cover).
  int32_t id_limit() const;

  const std::vector<AddedToken>& added_tokens() const;

  // The text encode() tokenizes: added tokens as their content (white space
  // an lstrip/rstrip token swallows is dropped), everything between them
  // NFC-normalized. decode(encode(x)) == normalize(x) for valid UTF-8 when
  // no added token's content contains characters of the byte-level alphabet
  // beyond printable ASCII (true of Qwen2's).
  std::string normalize(std::string_view text) const;

  // The path this tokenizer was loaded from.
  const std::string& path() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace tc::tokenizer
