#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <span>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/token_table.h"
#include "tokenizer/unicode.h"

namespace tc::tokenizer {

namespace {

using nlohmann::json;

// Lets unordered_map<std::string, ...> be searched with a string_view
// without building a std::string per lookup.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

// Largest id accepted in a tokenizer.json: far above any real vocabulary
// (Qwen2.5: 151665), low enough that a typo cannot make us allocate gigabytes.
constexpr int64_t kMaxTokenId = (int64_t{1} << 22) - 1;

// A word with its hash, computed once for both the shard and the map.
struct HashedWord {
  std::string_view text;
  size_t hash;
};
struct WordHash {
  using is_transparent = void;
  // Not noexcept on purpose: libstdc++ then keeps each node's hash, so
  // lookups compare hashes before strings and rehashing never re-hashes.
  size_t operator()(const std::string& text) const { return hash_of(text); }
  size_t operator()(const HashedWord& word) const { return word.hash; }
  static size_t hash_of(std::string_view text) noexcept {
    return std::hash<std::string_view>{}(text);
  }
};
struct WordEqual {
  using is_transparent = void;
  bool operator()(const std::string& a, const std::string& b) const { return a == b; }
  bool operator()(const HashedWord& a, const std::string& b) const { return a.text == b; }
  bool operator()(const std::string& a, const HashedWord& b) const { return a == b.text; }
};

// Cache of merged ids per pre-token. Real text repeats a few thousand words
// over and over, so after warm-up almost every word is a lookup. Sharded by
// hash so that threads encoding at once rarely wait on the same mutex.
class WordCache {
 public:
  // Words longer than this are rare and cheap to re-merge relative to their
  // size; keeping them out stops one huge input from filling the cache.
  static constexpr size_t kMaxWordBytes = 128;

  bool find(const HashedWord& word, std::vector<int32_t>& out) const {
    Shard& shard = shards_[word.hash % kShards];
    std::lock_guard lock(shard.mutex);
    const auto it = shard.words.find(word);
    if (it == shard.words.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }

  void insert(const HashedWord& word, std::span<const int32_t> ids) const {
    Shard& shard = shards_[word.hash % kShards];
    std::lock_guard lock(shard.mutex);
    // Bounded memory: a full shard starts over, which also lets the cache
    // follow a change of text domain in a long-running process.
    if (shard.words.size() >= kShardCapacity) shard.words.clear();
    shard.words.try_emplace(std::string(word.text), ids.begin(), ids.end());
  }

 private:
  static constexpr size_t kShards = 64;
  static constexpr size_t kShardCapacity = 4096;  // 262144 words in all
  struct alignas(64) Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>, WordHash, WordEqual> words;
  };
  mutable std::array<Shard, kShards> shards_;
};

// Per-thread scratch buffers, reused across calls so encoding a short text
// allocates nothing but its result.
struct Scratch {
  std::vector<Piece> pieces;
  std::vector<Piece> next_pieces;
  BpeWorkspace bpe;
};

Scratch& thread_scratch() {
  thread_local Scratch scratch;
  return scratch;
}

}  // namespace

struct Tokenizer::Impl {
  std::string path;

  // Model.
  TokenTable token_ids;  // vocabulary and added tokens (added win)
  // Token string of each id (views into token_ids, which is not modified
  // after loading); id_known[i] is 0 for ids that name no token.
  std::vector<std::string_view> id_tokens;
  std::vector<uint8_t> id_known;
  // decode(): the bytes of token id i are decoded_bytes[decoded_offsets[i],
  // decoded_offsets[i + 1]).
  std::string decoded_bytes;
  std::vector<uint32_t> decoded_offsets;
  BpeConfig bpe;
  MergeTable merges;
  bool ignore_merges = false;
  StringMap<int32_t> raw_vocab;  // raw bytes -> id, only for ignore_merges

  // Pipeline.
  bool nfc = false;
  std::vector<SplitRegex> splits;
  std::vector<AddedToken> added;
  AddedTokenMatcher raw_added;         // normalized == false: matched in the input
  AddedTokenMatcher normalized_added;  // normalized == true: matched after NFC

  WordCache cache;

  void encode_segment(std::string_view segment, Scratch& scratch, std::vector<int32_t>& ids) const;
  void encode_pretokens(std::string_view text, Scratch& scratch, std::vector<int32_t>& ids) const;
  void encode_word(std::string_view word, Scratch& scratch, std::vector<int32_t>& ids) const;
  std::string normalize_segment(std::string_view segment) const;
};

namespace {

// Reads tokenizer.json into an Impl, naming the file and the field in every error.
class Loader {
 public:
  Loader(const std::string& path, Tokenizer::Impl& impl) : path_(path), impl_(impl) {}

  void load() {
    const json root = parse_file();
    if (!root.is_object()) bad("", "the top level is not a JSON object");
    impl_.path = path_;
    load_model(member(root, "model", "model"));
    load_added_tokens(root);
    load_normalizer(root);
    load_pre_tokenizer(root);
    load_decoder(root);
    build_id_table();
    build_decode_table();
  }

 private:
  [[noreturn]] void bad(std::string_view field, std::string_view message) const {
    if (field.empty()) fail("{}: {}", path_, message);
    fail("{}: {}: {}", path_, field, message);
  }

  // Parses the file. model.vocab and model.merges (150k entries each in a
  // real vocabulary) are taken out while parsing instead of being built as a
  // DOM (a std::map node per token, an array per merge) and walked again:
  // vocab entries go straight into the token table, merges into merge_pairs_
  // (resolved to ids in load_merges, once the whole vocabulary is known).
  // Both stay in the DOM as empty containers, so the structure checks below
  // still see them.
  json parse_file() {
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec)) bad("", "is a folder, expected tokenizer.json");
    std::ifstream in(path_, std::ios::binary);
    if (!in) bad("", fmt::format("cannot open tokenizer file: {}", std::strerror(errno)));
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) bad("", "read error");
    // Byte-level tokens average under 8 bytes of JSON-escaped text each side.
    impl_.token_ids.reserve(content.size() / 40, content.size() / 5);

    using Event = json::parse_event_t;
    std::array<bool, 3> is_object{};  // kind of the open container at depths 0-2
    std::string model_key;            // current key at depth 1 (in the top-level object)
    std::string section_key;          // current key at depth 2 (in "model")
    std::string vocab_key;            // current key inside model.vocab
    auto in_model_member = [&](const char* name, bool object) {
      return is_object[0] && is_object[1] && is_object[2] == object && model_key == "model" &&
             section_key == name;
    };
    auto callback = [&](int depth, Event event, json& parsed) -> bool {
      if ((event == Event::object_start || event == Event::array_start) && depth <= 2) {
        is_object[static_cast<size_t>(depth)] = event == Event::object_start;
        return true;
      }
      if (event == Event::key && depth <= 2) {
        (depth == 1 ? model_key : section_key) = parsed.get<std::string>();
        return true;
      }
      if (depth == 3 && in_model_member("vocab", true)) {
        if (event == Event::key) {
          vocab_key = parsed.get<std::string>();
          return false;  // keeps the pair out of the DOM
        }
        if (event == Event::value) {
          impl_.token_ids.assign(vocab_key, vocab_token_id(parsed, vocab_key));
          return false;
        }
        if (event == Event::object_start || event == Event::array_start) {
          bad(fmt::format("model.vocab[\"{}\"]", vocab_key), "expected an integer token id");
        }
      }
      if (depth == 3 && in_model_member("merges", false)) {
        if (event == Event::value || event == Event::array_end) {
          add_merge_pair(parsed);
          return false;
        }
        if (event == Event::object_start) {
          bad(fmt::format("model.merges[{}]", merge_pairs_.size()),
              "expected \"left right\" or [\"left\", \"right\"]");
        }
      }
      return true;
    };
    try {
      return json::parse(content, callback);
    } catch (const json::parse_error& e) {
      bad("", fmt::format("malformed JSON: {}", e.what()));
    }
  }

  int32_t vocab_token_id(const json& value, const std::string& token) const {
    // The field name is only formatted for an error: this runs 150k times.
    if (value.is_number_integer()) {
      const auto id = value.get<int64_t>();
      if (id >= 0 && id <= kMaxTokenId) return static_cast<int32_t>(id);
    }
    return token_id(value, fmt::format("model.vocab[\"{}\"]", token));
  }

  void add_merge_pair(const json& entry) {
    const size_t index = merge_pairs_.size();
    if (entry.is_string()) {  // "left right" (tokenizers < 0.20)
      const std::string& text = entry.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        bad(fmt::format("model.merges[{}]", index),
            fmt::format("expected \"left right\", got \"{}\"", text));
      }
      merge_pairs_.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
               entry[1].is_string()) {  // ["left", "right"]
      merge_pairs_.emplace_back(entry[0].get<std::string>(), entry[1].get<std::string>());
    } else {
      bad(fmt::format("model.merges[{}]", index),
          "expected \"left right\" or [\"left\", \"right\"]");
    }
  }

  const json& member(const json& object, const char* key, std::string_view field) const {
    const auto it = object.find(key);
    if (it == object.end()) bad(field, "missing");
    return *it;
  }

  // The value of an optional member, or nullptr when absent or null.
  static const json* find_value(const json& object, const char* key) {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  bool flag(const json& object, const char* key, bool fallback, std::string_view field) const {
    const json* value = find_value(object, key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) bad(field, "expected true or false");
    return value->get<bool>();
  }

  const std::string& string_of(const json& value, std::string_view field) const {
    if (!value.is_string()) bad(field, "expected a string");
    return value.get_ref<const std::string&>();
  }

  std::string type_of(const json& object, std::string_view field) const {
    if (!object.is_object()) bad(field, "expected an object");
    return string_of(member(object, "type", fmt::format("{}.type", field)),
                     fmt::format("{}.type", field));
  }

  int32_t token_id(const json& value, std::string_view field) const {
    if (!value.is_number_integer()) bad(field, "expected an integer token id");
    const int64_t id = value.get<int64_t>();
    if (id < 0 || id > kMaxTokenId) {
      bad(field, fmt::format("token id {} is out of range [0, {}]", id, kMaxTokenId));
    }
    return static_cast<int32_t>(id);
  }

  // Fills id_tokens once every string is in token_ids (so the views stay
  // valid). Added tokens win over a vocabulary token with the same id, as in
  // Hugging Face's id_to_token.
  void build_id_table() {
    int32_t max_id = -1;
    impl_.token_ids.for_each([&](std::string_view, int32_t id) { max_id = std::max(max_id, id); });
    const auto count = static_cast<size_t>(max_id + 1);
    impl_.id_tokens.assign(count, std::string_view());
    impl_.id_known.assign(count, 0);
    impl_.token_ids.for_each([&](std::string_view token, int32_t id) {
      if (impl_.id_known[static_cast<size_t>(id)]) return;
      impl_.id_tokens[static_cast<size_t>(id)] = token;
      impl_.id_known[static_cast<size_t>(id)] = 1;
    });
    for (const AddedToken& token : impl_.added) {
      impl_.id_tokens[static_cast<size_t>(token.id)] = *impl_.token_ids.view(token.content);
    }
  }

  void load_model(const json& model) {
    if (!model.is_object()) bad("model", "expected an object");
    if (const json* type = find_value(model, "type")) {
      if (string_of(*type, "model.type") != "BPE") {
        bad("model.type",
            fmt::format("unsupported type '{}' (only BPE)", type->get<std::string>()));
      }
    }
    if (const json* dropout = find_value(model, "dropout")) {
      if (!dropout->is_number() || dropout->get<double>() != 0.0) {
        bad("model.dropout", "BPE dropout is not supported (encoding would be random)");
      }
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (const json* affix = find_value(model, key)) {
        if (!string_of(*affix, fmt::format("model.{}", key)).empty()) {
          bad(fmt::format("model.{}", key), "unsupported (byte-level BPE uses none)");
        }
      }
    }
    if (flag(model, "byte_fallback", false, "model.byte_fallback")) {
      bad("model.byte_fallback", "unsupported (byte-level BPE covers every byte already)");
    }
    impl_.bpe.fuse_unk = flag(model, "fuse_unk", false, "model.fuse_unk");
    impl_.ignore_merges = flag(model, "ignore_merges", false, "model.ignore_merges");

    // The entries were read while parsing (parse_file); here only the shape.
    const json& vocab = member(model, "vocab", "model.vocab");
    if (!vocab.is_object()) bad("model.vocab", "expected an object of token -> id");

    if (const json* unk = find_value(model, "unk_token")) {
      const std::string& unk_token = string_of(*unk, "model.unk_token");
      const auto unk_id = impl_.token_ids.find(unk_token);
      if (!unk_id) {
        bad("model.unk_token", fmt::format("'{}' is not in model.vocab", unk_token));
      }
      impl_.bpe.unk_id = *unk_id;
    }
    for (int byte = 0; byte < 256; ++byte) {
      const std::string spelled = bytes_to_byte_level(std::string(1, static_cast<char>(byte)));
      impl_.bpe.byte_ids[byte] = impl_.token_ids.find(spelled).value_or(-1);
    }
    load_merges(member(model, "merges", "model.merges"));

    if (impl_.ignore_merges) {
      impl_.token_ids.for_each([&](std::string_view token, int32_t id) {
        if (auto raw = byte_level_to_bytes(token)) impl_.raw_vocab.emplace(std::move(*raw), id);
      });
    }
  }

  int32_t vocab_id(std::string_view token, size_t index) const {
    const auto id = impl_.token_ids.find(token);
    if (!id) {
      bad(fmt::format("model.merges[{}]", index),
          fmt::format("token '{}' is not in model.vocab", token));
    }
    return *id;
  }

  void load_merges(const json& merges) {
    if (!merges.is_array()) bad("model.merges", "expected an array");
    impl_.merges.reserve(merge_pairs_.size());
    std::string merged;
    for (size_t i = 0; i < merge_pairs_.size(); ++i) {
      const auto& [left, right] = merge_pairs_[i];
      merged.assign(left);
      merged.append(right);
      const int32_t left_id = vocab_id(left, i);
      const int32_t right_id = vocab_id(right, i);
      const int32_t merged_id = vocab_id(merged, i);
      // A repeated pair takes its later rank, as in Hugging Face (whose merge
      // map is collected from the list in order).
      impl_.merges.insert(left_id, right_id, {static_cast<uint32_t>(i), merged_id});
    }
    merge_pairs_ = {};
  }

  void load_added_tokens(const json& root) {
    const json* list = find_value(root, "added_tokens");
    if (list == nullptr) return;
    if (!list->is_array()) bad("added_tokens", "expected an array");
    for (size_t i = 0; i < list->size(); ++i) {
      const json& item = (*list)[i];
      const std::string field = fmt::format("added_tokens[{}]", i);
      if (!item.is_object()) bad(field, "expected an object");
      AddedToken token;
      token.id = token_id(member(item, "id", field + ".id"), field + ".id");
      token.content = string_of(member(item, "content", field + ".content"), field + ".content");
      if (token.content.empty()) bad(field + ".content", "is empty");
      token.special = flag(item, "special", false, field + ".special");
      token.single_word = flag(item, "single_word", false, field + ".single_word");
      token.lstrip = flag(item, "lstrip", false, field + ".lstrip");
      token.rstrip = flag(item, "rstrip", false, field + ".rstrip");
      // Hugging Face's default: special tokens are matched as written.
      token.normalized = flag(item, "normalized", !token.special, field + ".normalized");
      impl_.token_ids.assign(token.content, token.id);
      impl_.added.push_back(token);
    }
    // The matching texts of normalized tokens depend on the normalizer, so
    // the matchers are built in load_normalizer.
  }

  void load_normalizer(const json& root) {
    if (const json* normalizer = find_value(root, "normalizer")) {
      impl_.nfc = parse_normalizer(*normalizer, "normalizer");
    }
    std::vector<AddedTokenMatcher::Entry> raw_entries;
    std::vector<AddedTokenMatcher::Entry> normalized_entries;
    for (const AddedToken& token : impl_.added) {
      AddedTokenMatcher::Entry entry{token.content, token.id, token.single_word, token.lstrip,
                                     token.rstrip};
      if (token.normalized) {
        if (impl_.nfc) entry.text = nfc(entry.text);
        normalized_entries.push_back(std::move(entry));
      } else {
        raw_entries.push_back(std::move(entry));
      }
    }
    impl_.raw_added.build(std::move(raw_entries));
    impl_.normalized_added.build(std::move(normalized_entries));
  }

  // True when the normalizer is NFC (a Sequence of NFCs counts).
  bool parse_normalizer(const json& normalizer, const std::string& field) const {
    const std::string type = type_of(normalizer, field);
    if (type == "NFC") return true;
    if (type == "Sequence") {
      const json& list = member(normalizer, "normalizers", field + ".normalizers");
      if (!list.is_array()) bad(field + ".normalizers", "expected an array");
      bool any = false;
      for (size_t i = 0; i < list.size(); ++i) {
        any = parse_normalizer(list[i], fmt::format("{}.normalizers[{}]", field, i)) || any;
      }
      return any;
    }
    bad(field, fmt::format("unsupported type '{}' (only NFC)", type));
  }

  void load_pre_tokenizer(const json& root) {
    const json* pre_tokenizer = find_value(root, "pre_tokenizer");
    if (pre_tokenizer == nullptr) {
      bad("pre_tokenizer", "missing (a ByteLevel pre-tokenizer is required)");
    }
    const std::string type = type_of(*pre_tokenizer, "pre_tokenizer");
    if (type == "ByteLevel") {
      check_byte_level(*pre_tokenizer, "pre_tokenizer");
      return;
    }
    if (type != "Sequence") {
      bad("pre_tokenizer", fmt::format("unsupported type '{}'", type));
    }
    const json& steps = member(*pre_tokenizer, "pretokenizers", "pre_tokenizer.pretokenizers");
    if (!steps.is_array()) bad("pre_tokenizer.pretokenizers", "expected an array");
    bool byte_level = false;
    for (size_t i = 0; i < steps.size(); ++i) {
      const std::string field = fmt::format("pre_tokenizer.pretokenizers[{}]", i);
      const std::string step_type = type_of(steps[i], field);
      if (byte_level) bad(field, "ByteLevel must be the last step");
      if (step_type == "Split") {
        impl_.splits.push_back(parse_split(steps[i], field));
      } else if (step_type == "ByteLevel") {
        check_byte_level(steps[i], field);
        byte_level = true;
      } else {
        bad(field, fmt::format("unsupported type '{}' (only Split and ByteLevel)", step_type));
      }
    }
    if (!byte_level) bad("pre_tokenizer", "a ByteLevel step is required (byte-level BPE)");
  }

  void check_byte_level(const json& step, const std::string& field) const {
    if (flag(step, "add_prefix_space", false, field + ".add_prefix_space")) {
      bad(field + ".add_prefix_space", "true is not supported");
    }
    if (flag(step, "use_regex", true, field + ".use_regex")) {
      bad(field + ".use_regex",
          "true is not supported (the split regex must come from a Split step)");
    }
  }

  SplitRegex parse_split(const json& step, const std::string& field) const {
    const json& pattern = member(step, "pattern", field + ".pattern");
    if (!pattern.is_object()) {
      bad(field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    const std::string behavior =
        string_of(member(step, "behavior", field + ".behavior"), field + ".behavior");
    if (behavior != "Isolated") {
      bad(field + ".behavior", fmt::format("unsupported behavior '{}' (only Isolated)", behavior));
    }
    if (flag(step, "invert", false, field + ".invert")) {
      bad(field + ".invert", "true is not supported");
    }
    if (const json* regex = find_value(pattern, "Regex")) {
      const std::string where = fmt::format("{}: {}.pattern.Regex", path_, field);
      return SplitRegex::compile(string_of(*regex, field + ".pattern.Regex"), false, where);
    }
    if (const json* literal = find_value(pattern, "String")) {
      const std::string where = fmt::format("{}: {}.pattern.String", path_, field);
      return SplitRegex::compile(string_of(*literal, field + ".pattern.String"), true, where);
    }
    bad(field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
  }

  void load_decoder(const json& root) const {
    const json* decoder = find_value(root, "decoder");
    if (decoder == nullptr) bad("decoder", "missing (a ByteLevel decoder is required)");
    const std::string type = type_of(*decoder, "decoder");
    if (type != "ByteLevel")
      bad("decoder", fmt::format("unsupported type '{}' (only ByteLevel)", type));
  }

  // Hugging Face's ByteLevel decoder works token by token: a token whose
  // characters are all in the byte-level alphabet becomes those bytes, any
  // other token (e.g. an added token containing a space) stays as written.
  void build_decode_table() {
    const size_t count = impl_.id_tokens.size();
    if (count > 0 && static_cast<uint64_t>(count) > UINT32_MAX) bad("", "too many tokens");
    impl_.decoded_offsets.assign(count + 1, 0);
    impl_.decoded_bytes.reserve(count * 6);
    for (size_t id = 0; id < count; ++id) {
      impl_.decoded_offsets[id] = static_cast<uint32_t>(impl_.decoded_bytes.size());
      if (!impl_.id_known[id]) continue;
      const std::string_view token = impl_.id_tokens[id];
      if (auto raw = byte_level_to_bytes(token)) {
        impl_.decoded_bytes += *raw;
      } else {
        impl_.decoded_bytes += token;
      }
      if (impl_.decoded_bytes.size() > UINT32_MAX) bad("", "token strings too long");
    }
    impl_.decoded_offsets[count] = static_cast<uint32_t>(impl_.decoded_bytes.size());
  }

  const std::string& path_;
  Tokenizer::Impl& impl_;
  std::vector<std::pair<std::string, std::string>> merge_pairs_;  // model.merges, in rank order
};

}  // namespace

Tokenizer Tokenizer::from_file(const std::string& tokenizer_json_path) {
  auto impl = std::make_shared<Impl>();
  Loader(tokenizer_json_path, *impl).load();
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_model_dir(const std::string& dir) {
  return from_file((std::filesystem::path(dir) / "tokenizer.json").string());
}

void Tokenizer::Impl::encode_word(std::string_view word, Scratch& scratch,
                                  std::vector<int32_t>& ids) const {
  if (word.size() == 1 && bpe.byte_ids[static_cast<uint8_t>(word[0])] >= 0) {
    ids.push_back(bpe.byte_ids[static_cast<uint8_t>(word[0])]);
    return;
  }
  if (ignore_merges) {
    const auto it = raw_vocab.find(word);
    if (it != raw_vocab.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  if (word.size() > WordCache::kMaxWordBytes) {
    merge_word(word, bpe, merges, scratch.bpe, ids);
    return;
  }
  const HashedWord hashed{word, WordHash::hash_of(word)};
  if (cache.find(hashed, ids)) return;
  const size_t first = ids.size();
  merge_word(word, bpe, merges, scratch.bpe, ids);
  cache.insert(hashed, std::span<const int32_t>(ids).subspan(first));
}

void Tokenizer::Impl::encode_pretokens(std::string_view text, Scratch& scratch,
                                       std::vector<int32_t>& ids) const {
  if (text.empty()) return;
  if (text.size() > UINT32_MAX) fail("encode: text segment over 4 GiB");
  auto& pieces = scratch.pieces;
  pieces.clear();
  pieces.push_back({0, static_cast<uint32_t>(text.size())});
  for (const SplitRegex& split : splits) {
    auto& next = scratch.next_pieces;
    next.clear();
    for (const Piece& piece : pieces) {
      split.split(text.substr(piece.begin, piece.end - piece.begin), piece.begin, next);
    }
    pieces.swap(next);
  }
  for (const Piece& piece : pieces) {
    encode_word(text.substr(piece.begin, piece.end - piece.begin), scratch, ids);
  }
}

void Tokenizer::Impl::encode_segment(std::string_view segment, Scratch& scratch,
                                     std::vector<int32_t>& ids) const {
  std::string normalized;
  if (nfc && may_need_nfc(segment)) {
    normalized = tc::tokenizer::nfc(segment);
    segment = normalized;
  }
  normalized_added.split(
      segment, [&](std::string_view text) { encode_pretokens(text, scratch, ids); },
      [&](int32_t id) { ids.push_back(id); });
}

std::string Tokenizer::Impl::normalize_segment(std::string_view segment) const {
  return nfc && may_need_nfc(segment) ? tc::tokenizer::nfc(segment) : std::string(segment);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  if (const auto bad = find_invalid_utf8(text)) {
    fail("encode: text is not valid UTF-8 (byte offset {})", *bad);
  }
  const Impl& impl = *impl_;
  Scratch& scratch = thread_scratch();
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  impl.raw_added.split(
      text, [&](std::string_view segment) { impl.encode_segment(segment, scratch, ids); },
      [&](int32_t id) { ids.push_back(id); });
  return ids;
}

std::string Tokenizer::normalize(std::string_view text) const {
  if (const auto bad = find_invalid_utf8(text)) {
    fail("normalize: text is not valid UTF-8 (byte offset {})", *bad);
  }
  const Impl& impl = *impl_;
  std::string out;
  auto append_token = [&](int32_t id) { out += impl.id_tokens[static_cast<size_t>(id)]; };
  impl.raw_added.split(
      text,
      [&](std::string_view segment) {
        const std::string normalized = impl.normalize_segment(segment);
        impl.normalized_added.split(
            normalized, [&](std::string_view piece) { out.append(piece); }, append_token);
      },
      append_token);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  const Impl& impl = *impl_;
  const size_t count = impl.id_known.size();
  std::string bytes;
  for (const int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= count || !impl.id_known[static_cast<size_t>(id)]) {
      fail("decode: unknown token id {} (this tokenizer's ids are below {})", id, count);
    }
    const uint32_t begin = impl.decoded_offsets[static_cast<size_t>(id)];
    const uint32_t end = impl.decoded_offsets[static_cast<size_t>(id) + 1];
    bytes.append(impl.decoded_bytes, begin, end - begin);
  }
  return find_invalid_utf8(bytes) ? utf8_lossy(bytes) : bytes;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->token_ids.find(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_known.size() ||
      !impl_->id_known[static_cast<size_t>(id)]) {
    return std::nullopt;
  }
  return std::string(impl_->id_tokens[static_cast<size_t>(id)]);
}

size_t Tokenizer::vocab_size() const { return impl_->token_ids.size(); }

int32_t Tokenizer::id_limit() const { return static_cast<int32_t>(impl_->id_known.size()); }

const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added; }

const std::string& Tokenizer::path() const { return impl_->path; }

}  // namespace tc::tokenizer
