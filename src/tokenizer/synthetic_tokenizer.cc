#include "tokenizer/synthetic_tokenizer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <filesystem>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/atomic_file.h"
#include "tokenizer/byte_level.h"

namespace tc::tokenizer {

namespace {

constexpr std::array<SyntheticAddedToken, 22> kAddedTokens = {{
    {"<|endoftext|>", true},        {"<|im_start|>", true},       {"<|im_end|>", true},
    {"<|object_ref_start|>", true}, {"<|object_ref_end|>", true}, {"<|box_start|>", true},
    {"<|box_end|>", true},          {"<|quad_start|>", true},     {"<|quad_end|>", true},
    {"<|vision_start|>", true},     {"<|vision_end|>", true},     {"<|vision_pad|>", true},
    {"<|image_pad|>", true},        {"<|video_pad|>", true},      {"<tool_call>", false},
    {"</tool_call>", false},        {"<|fim_prefix|>", false},    {"<|fim_middle|>", false},
    {"<|fim_suffix|>", false},      {"<|fim_pad|>", false},       {"<|repo_name|>", false},
    {"<|file_sep|>", false},
}};

constexpr std::string_view kSplitRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The longest token, in bytes (Qwen2's real vocabulary has longer ones, but
// they are rare runs of one character).
constexpr size_t kMaxTokenBytes = 16;

// splitmix64: a fixed, portable generator (std distributions are not
// portable, and the vocabulary must be the same everywhere). Choices are
// made with integers and exact comparisons only, so no compiler setting
// (FMA contraction, say) can change the vocabulary.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n), n > 0 (the modulo bias is below 2^-40 for our n).
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }

 private:
  uint64_t state_;
};

std::string utf8(char32_t code_point) {
  std::string out;
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {  // the scripts used here stay in the Basic Multilingual Plane
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
  return out;
}

// Scripts whose words are built separately (a word never mixes scripts).
enum Script : size_t { kLatin, kGreek, kCyrillic, kCjk, kKana, kHangul, kScriptCount };

// Tokens grouped by length in characters, drawn with a weight that decays
// with length: as in real text, short pieces are frequent, so BPE extends
// them more often than long ones.
class ByLength {
 public:
  static constexpr size_t kMaxLength = 16;
  void add(int32_t token, size_t length) {
    buckets_[std::min(length, kMaxLength)].push_back(token);
    ++total_;
  }
  bool empty() const { return total_ == 0; }
  size_t size() const { return total_; }
  // A token, each extra character making it `decay_permille`/1000 times as
  // likely; must not be empty.
  int32_t pick(Rng& rng, uint64_t decay_permille) const {
    std::array<uint64_t, kMaxLength + 1> weight{};
    uint64_t sum = 0, factor = uint64_t{1} << 40;  // < 2^60 in all for up to 2^20 tokens
    for (size_t length = 0; length <= kMaxLength; ++length) {
      weight[length] = buckets_[length].size() * factor;
      sum += weight[length];
      factor = factor * decay_permille / 1000;
    }
    uint64_t at = rng.below(sum);
    size_t length = 0;
    while (at >= weight[length]) at -= weight[length++];
    return buckets_[length][rng.below(buckets_[length].size())];
  }

 private:
  std::array<std::vector<int32_t>, kMaxLength + 1> buckets_;
  size_t total_ = 0;
};

class MergeBuilder {
 public:
  explicit MergeBuilder(uint64_t seed) : rng_(seed) {
    // Ids 0-255: the byte-level characters ordered by code point.
    std::vector<std::pair<char32_t, int>> alphabet;
    for (int byte = 0; byte < 256; ++byte) {
      alphabet.emplace_back(byte_to_code_point(static_cast<uint8_t>(byte)), byte);
    }
    std::sort(alphabet.begin(), alphabet.end());
    for (const auto& [code_point, byte] : alphabet) {
      byte_token_[static_cast<size_t>(byte)] =
          add_token(bytes_to_byte_level(std::string(1, static_cast<char>(byte))), 1, 1);
    }

    // Whitespace runs, in the order BPE tends to find them. A left side of
    // -1 stands for the longest run of spaces made so far.
    const int32_t space = byte_token_[' '];
    const int32_t newline = byte_token_['\n'];
    const int32_t tab = byte_token_['\t'];
    last_space_run_ = space;
    for (int length = 2; length <= 16; ++length) whitespace_.emplace_back(-1, space);
    whitespace_.emplace_back(newline, newline);
    whitespace_.emplace_back(tab, tab);
    whitespace_.emplace_back(byte_token_['\r'], newline);
    whitespace_.emplace_back(space, newline);

    // English letter frequencies make the grown words look like words.
    static constexpr std::string_view kLetters =
        "eeeeeeeeeeeetttttttttaaaaaaaaoooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrrddddllllcccuuummmwwf"
        "fggyyppbbvkjxqz";
    for (const char c : kLetters) letters_.push_back(byte_token_[static_cast<uint8_t>(c)]);
    for (int c = 'a'; c <= 'z'; ++c) pieces_[kLatin].add(byte_token_[static_cast<size_t>(c)], 1);

    for (int c = '!'; c <= '~'; ++c) {
      if (!std::isalnum(c)) {
        punctuation_.push_back(byte_token_[static_cast<size_t>(c)]);
        punctuation_starts_.add(byte_token_[static_cast<size_t>(c)], 1);
      }
    }
    punctuation_starts_.add(space, 1);

    // Characters of other scripts, formed from their UTF-8 bytes on demand.
    for (char32_t cp = 0xE0; cp <= 0xFF; ++cp) {
      if (cp != 0xF7) characters_[kLatin].push_back(cp);
    }
    for (char32_t cp = 0x3B1; cp <= 0x3C9; ++cp) characters_[kGreek].push_back(cp);
    for (char32_t cp = 0x391; cp <= 0x3A9; ++cp) {
      if (cp != 0x3A2) characters_[kGreek].push_back(cp);
    }
    for (char32_t cp = 0x430; cp <= 0x44F; ++cp) characters_[kCyrillic].push_back(cp);
    for (char32_t cp = 0x410; cp <= 0x42F; ++cp) characters_[kCyrillic].push_back(cp);
    for (char32_t cp = 0x4E00; cp < 0x4E00 + 6000; ++cp) characters_[kCjk].push_back(cp);
    for (char32_t cp = 0x3041; cp <= 0x3093; ++cp) characters_[kKana].push_back(cp);
    for (char32_t cp = 0x30A1; cp <= 0x30F3; ++cp) characters_[kKana].push_back(cp);
    for (char32_t cp = 0xAC00; cp < 0xAC00 + 2000; ++cp) characters_[kHangul].push_back(cp);
  }

  // Learns merges until there are `count` of them.
  void run(size_t count) {
    size_t attempts = 0;
    while (merges_.size() < count) {
      if (++attempts > 1000 * count + 100000) {
        fail("synthetic tokenizer: could not find {} distinct merges", count);
      }
      const double kind = rng_.uniform();
      if (kind < 0.02) {
        whitespace_step();
      } else if (kind < 0.07) {
        punctuation_step();
      } else if (kind < 0.17) {
        // Shares of the non-ASCII merges, roughly as in a multilingual vocabulary.
        static constexpr std::array<double, kScriptCount> kShare = {0.10, 0.05, 0.25,
                                                                    0.40, 0.10, 0.10};
        double pick = rng_.uniform();
        size_t script = 0;
        while (script + 1 < kScriptCount && pick >= kShare[script]) pick -= kShare[script++];
        script_step(static_cast<Script>(script));
      } else {
        word_step(kLatin);
      }
    }
  }

  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<std::pair<int32_t, int32_t>>& merges() const { return merges_; }

 private:
  // `bytes`: length of the raw text; `chars`: its length in characters.
  int32_t add_token(std::string text, size_t bytes, size_t chars) {
    const auto id = static_cast<int32_t>(tokens_.size());
    known_.emplace(text, id);
    tokens_.push_back(std::move(text));
    token_bytes_.push_back(bytes);
    token_chars_.push_back(chars);
    return id;
  }
  size_t chars(int32_t token) const { return token_chars_[static_cast<size_t>(token)]; }

  // Adds the merge (left, right) unless its token exists or is too long;
  // returns the new token's id or -1. `chars` overrides the character count
  // (a multi-byte character's bytes merge into one character).
  int32_t merge(int32_t left, int32_t right, size_t merged_chars = 0) {
    const size_t bytes =
        token_bytes_[static_cast<size_t>(left)] + token_bytes_[static_cast<size_t>(right)];
    if (bytes > kMaxTokenBytes) return -1;
    std::string text = tokens_[static_cast<size_t>(left)] + tokens_[static_cast<size_t>(right)];
    if (known_.count(text) != 0) return -1;
    merges_.emplace_back(left, right);
    return add_token(std::move(text), bytes,
                     merged_chars != 0 ? merged_chars : chars(left) + chars(right));
  }

  void whitespace_step() {
    if (whitespace_.empty()) return word_step(kLatin);
    const auto [left, right] = whitespace_.front();
    whitespace_.pop_front();
    const int32_t made = merge(left < 0 ? last_space_run_ : left, right);
    if (made >= 0 && left < 0) last_space_run_ = made;
  }

  // " (", "==", "();", ".\n": punctuation runs, optionally after one space
  // and before newlines, as the regex's punctuation piece allows.
  void punctuation_step() {
    const int32_t left = punctuation_starts_.pick(rng_, 300);
    const int32_t newline = byte_token_['\n'];
    const int32_t right =
        rng_.uniform() < 0.1 ? newline : punctuation_[rng_.below(punctuation_.size())];
    if (chars(left) >= 8) return;
    const int32_t made = merge(left, right);
    if (made >= 0 && right != newline) punctuation_starts_.add(made, chars(made));
  }

  // Forms the next character of `script` from its UTF-8 bytes (two-byte
  // characters in one merge; three-byte ones as lead pair + last byte), or
  // grows a word of the script once it has a few characters.
  void script_step(Script script) {
    auto& pending = characters_[script];
    const bool form = !pending.empty() && (formed_[script] < 16 || rng_.uniform() < 0.35);
    if (!form) return word_step(script);
    const std::string bytes = utf8(pending.front());
    int32_t left = byte_token_[static_cast<uint8_t>(bytes[0])];
    for (size_t i = 1; i + 1 < bytes.size(); ++i) {
      const int32_t right = byte_token_[static_cast<uint8_t>(bytes[i])];
      const auto prefix =
          known_.find(tokens_[static_cast<size_t>(left)] + tokens_[static_cast<size_t>(right)]);
      if (prefix == known_.end()) {
        merge(left, right);  // the shared lead pair, learned once; the character comes later
        return;
      }
      left = prefix->second;
    }
    pending.pop_front();
    const int32_t made = merge(left, byte_token_[static_cast<uint8_t>(bytes.back())], 1);
    if (made < 0) return;
    ++formed_[script];
    pieces_[script].add(made, 1);
  }

  // A letter (or, for other scripts, a character or short piece) to grow a
  // word with; Latin letters follow English frequencies, capitals are rare.
  int32_t piece(Script script) {
    if (script == kLatin && rng_.uniform() < 0.75) {
      return rng_.uniform() < 0.04 ? byte_token_['A' + rng_.below(26)]
                                   : letters_[rng_.below(letters_.size())];
    }
    return pieces_[script].pick(rng_, 400);
  }

  // Grows a word: a space, a letter or an earlier word, + a letter or a
  // short piece.
  void word_step(Script script) {
    if (pieces_[script].empty()) return;
    // Early merges join single characters; words grow once there are some.
    const auto words = static_cast<double>(words_[script].size());
    const double from = rng_.uniform();
    int32_t left;
    if (from < 0.65 * words / (words + 300)) {
      left = words_[script].pick(rng_, 550);
    } else if (rng_.uniform() < 0.4) {
      left = byte_token_[' '];
    } else {
      left = piece(script);
    }
    const int32_t made = merge(left, piece(script));
    if (made < 0) return;
    words_[script].add(made, chars(made));
    const bool spaced = tokens_[static_cast<size_t>(made)].rfind(space_text_, 0) == 0;
    if (!spaced && chars(made) <= 4) pieces_[script].add(made, chars(made));
  }

  Rng rng_;
  std::vector<std::string> tokens_;
  std::vector<size_t> token_bytes_;
  std::vector<size_t> token_chars_;
  std::unordered_map<std::string, int32_t> known_;
  std::vector<std::pair<int32_t, int32_t>> merges_;
  std::array<int32_t, 256> byte_token_{};
  std::string space_text_ = bytes_to_byte_level(" ");  // "Ġ"

  std::deque<std::pair<int32_t, int32_t>> whitespace_;
  int32_t last_space_run_ = -1;
  std::vector<int32_t> letters_;
  std::vector<int32_t> punctuation_;
  ByLength punctuation_starts_;
  std::array<std::deque<char32_t>, kScriptCount> characters_;
  std::array<size_t, kScriptCount> formed_{};
  std::array<ByLength, kScriptCount> words_;   // merged words, to grow further
  std::array<ByLength, kScriptCount> pieces_;  // characters and short word pieces
};

void check(const SyntheticTokenizerOptions& options) {
  if (options.learned_tokens < 256 + 64) {
    fail("synthetic tokenizer: learned_tokens {} is below the minimum of 320",
         options.learned_tokens);
  }
  if (options.learned_tokens > 1'000'000) {
    fail("synthetic tokenizer: learned_tokens {} is above the maximum of 1000000",
         options.learned_tokens);
  }
}

std::string quoted(const std::string& text) { return nlohmann::json(text).dump(); }

// The shared fields of one added token, in tokenizer.json's key order.
nlohmann::ordered_json added_token_fields(const SyntheticAddedToken& token) {
  return {{"content", std::string(token.content)},
          {"single_word", false},
          {"lstrip", false},
          {"rstrip", false},
          {"normalized", false},
          {"special", token.special}};
}

}  // namespace

std::span<const SyntheticAddedToken> qwen2_added_tokens() { return kAddedTokens; }

std::string_view qwen2_split_regex() { return kSplitRegex; }

std::string synthetic_tokenizer_json_text(const SyntheticTokenizerOptions& options) {
  check(options);
  MergeBuilder builder(options.seed);
  builder.run(static_cast<size_t>(options.learned_tokens - 256));
  const auto& tokens = builder.tokens();

  using nlohmann::ordered_json;
  ordered_json added = ordered_json::array();
  for (size_t i = 0; i < kAddedTokens.size(); ++i) {
    ordered_json entry = {{"id", options.learned_tokens + static_cast<int64_t>(i)}};
    const ordered_json fields = added_token_fields(kAddedTokens[i]);
    for (const auto& [key, value] : fields.items()) entry[key] = value;
    added.push_back(std::move(entry));
  }
  const ordered_json byte_level = {{"type", "ByteLevel"},
                                   {"add_prefix_space", false},
                                   {"trim_offsets", false},
                                   {"use_regex", false}};
  // Key order and values as in Qwen2's own tokenizer.json. The vocabulary and
  // merges are spliced in as text below: ordered_json looks keys up linearly,
  // which is quadratic for 151k entries.
  const ordered_json root = {{"version", "1.0"},
                             {"truncation", nullptr},
                             {"padding", nullptr},
                             {"added_tokens", added},
                             {"normalizer", {{"type", "NFC"}}},
                             {"pre_tokenizer",
                              {{"type", "Sequence"},
                               {"pretokenizers",
                                {{{"type", "Split"},
                                  {"pattern", {{"Regex", std::string(kSplitRegex)}}},
                                  {"behavior", "Isolated"},
                                  {"invert", false}},
                                 byte_level}}}},
                             {"post_processor", byte_level},
                             {"decoder",
                              {{"type", "ByteLevel"},
                               {"add_prefix_space", true},
                               {"trim_offsets", true},
                               {"use_regex", true}}},
                             {"model",
                              {{"type", "BPE"},
                               {"dropout", nullptr},
                               {"unk_token", nullptr},
                               {"continuing_subword_prefix", nullptr},
                               {"end_of_word_suffix", nullptr},
                               {"fuse_unk", false},
                               {"byte_fallback", false},
                               {"ignore_merges", false},
                               {"vocab", "@VOCAB@"},
                               {"merges", "@MERGES@"}}}};
  std::string text = root.dump(2);

  std::string vocab = "{\n";
  for (size_t id = 0; id < tokens.size(); ++id) {
    vocab += "      " + quoted(tokens[id]) + ": " + std::to_string(id);
    vocab += id + 1 < tokens.size() ? ",\n" : "\n";
  }
  vocab += "    }";
  std::string merges = "[\n";
  const auto& pairs = builder.merges();
  for (size_t i = 0; i < pairs.size(); ++i) {
    merges += "      [\n        " + quoted(tokens[static_cast<size_t>(pairs[i].first)]) +
              ",\n        " + quoted(tokens[static_cast<size_t>(pairs[i].second)]) + "\n      ]";
    merges += i + 1 < pairs.size() ? ",\n" : "\n";
  }
  merges += "    ]";
  for (const auto& [placeholder, body] :
       {std::pair<std::string, const std::string*>{"\"@VOCAB@\"", &vocab},
        {"\"@MERGES@\"", &merges}}) {
    const size_t at = text.find(placeholder);
    text.replace(at, placeholder.size(), *body);
  }
  return text;
}

std::string synthetic_tokenizer_config_text(const SyntheticTokenizerOptions& options) {
  check(options);
  using nlohmann::ordered_json;
  ordered_json decoder = ordered_json::object();
  ordered_json additional = ordered_json::array();
  for (size_t i = 0; i < kAddedTokens.size(); ++i) {
    ordered_json entry = added_token_fields(kAddedTokens[i]);
    decoder[std::to_string(options.learned_tokens + static_cast<int64_t>(i))] = {
        {"content", entry["content"]}, {"lstrip", false},
        {"normalized", false},         {"rstrip", false},
        {"single_word", false},        {"special", entry["special"]}};
    // Qwen2.5 lists its special tokens other than <|endoftext|> here.
    if (i > 0 && kAddedTokens[i].special)
      additional.push_back(std::string(kAddedTokens[i].content));
  }
  const ordered_json config = {
      {"add_bos_token", false},
      {"add_prefix_space", false},
      {"added_tokens_decoder", decoder},
      {"additional_special_tokens", additional},
      {"bos_token", nullptr},
      {"chat_template",
       "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
       "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt "
       "%}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
      {"clean_up_tokenization_spaces", false},
      {"eos_token", "<|endoftext|>"},
      {"errors", "replace"},
      {"model_max_length", options.model_max_length},
      {"pad_token", "<|endoftext|>"},
      {"split_special_tokens", false},
      {"tokenizer_class", "Qwen2Tokenizer"},
      {"unk_token", nullptr}};
  return config.dump(2) + "\n";
}

void write_synthetic_tokenizer(const std::string& dir, const SyntheticTokenizerOptions& options) {
  const std::filesystem::path folder(dir);
  io::write_file_atomic((folder / "tokenizer.json").string(),
                        synthetic_tokenizer_json_text(options));
  io::write_file_atomic((folder / "tokenizer_config.json").string(),
                        synthetic_tokenizer_config_text(options));
}

}  // namespace tc::tokenizer
