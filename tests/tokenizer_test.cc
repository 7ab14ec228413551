// Tokenizer tests: exact agreement with Hugging Face's goldens (cases and two
// whole corpora), decoding of ill-formed UTF-8, scale, bad files, thread
// safety and the `tokenize` command.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/sha256.h"
#include "test_paths.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/synthetic_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace tc::tokenizer {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------- helpers --

std::string fixture_tokenizer_path() {
  return test::shared_dir() + "/fixtures/tokenizer/tokenizer.json";
}

const Tokenizer& fixture_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::from_file(fixture_tokenizer_path());
  return tokenizer;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

json fixture_json() { return json::parse(read_file(fixture_tokenizer_path())); }

const json& golden() {
  static const json parsed =
      json::parse(read_file(test::shared_dir() + "/fixtures/tokenizer/golden_tokenizer.json"));
  return parsed;
}

// Writes `content` as tokenizer.json into a fresh folder; returns its path.
std::string write_tokenizer(const std::string& content) {
  const std::string path = test::make_temp_dir() + "/tokenizer.json";
  write_file(path, content);
  return path;
}

// SHA-256 of the ids as little-endian int32, as the goldens define it.
std::string sha256_of_ids(const std::vector<int32_t>& ids) {
  std::vector<uint8_t> bytes;
  bytes.reserve(ids.size() * 4);
  for (const int32_t id : ids) {  // little-endian regardless of the host
    const auto value = static_cast<uint32_t>(id);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
  return tc::sha256_hex(std::span<const uint8_t>(bytes));
}

// Id of the token that is the single byte `byte`.
int32_t byte_id(const Tokenizer& tokenizer, uint8_t byte) {
  const auto id =
      tokenizer.token_to_id(bytes_to_byte_level(std::string(1, static_cast<char>(byte))));
  if (!id) throw std::runtime_error("byte token missing");
  return *id;
}

// Runs a shell command; returns (exit status, stdout).
std::pair<int, std::string> run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  std::string output;
  std::array<char, 4096> buffer;
  size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// ------------------------------------------------------ Hugging Face goldens --

TEST(TokenizerGolden, EveryCaseEncodesToTheGoldenIds) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  const json& cases = golden().at("cases");
  ASSERT_GE(cases.size(), 40u);
  size_t mismatches = 0;
  for (const json& item : cases) {
    const std::string text = item.at("text").get<std::string>();
    const auto expected = item.at("ids").get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = tokenizer.encode(text);
    if (ids != expected) {
      ++mismatches;
      ADD_FAILURE() << "text " << json(text).dump() << "\n  expected " << json(expected).dump()
                    << "\n  got      " << json(ids).dump();
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(TokenizerGolden, DecodeOfEveryCaseIsTheNormalizedText) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  for (const json& item : golden().at("cases")) {
    const std::string text = item.at("text").get<std::string>();
    EXPECT_EQ(tokenizer.decode(item.at("ids").get<std::vector<int32_t>>()), nfc(text))
        << json(text).dump();
  }
}

void check_corpus(const std::string& name) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  const std::string text = read_file(test::shared_dir() + "/data/kdoc/" + name);
  const json& expected = golden().at(name);
  const std::vector<int32_t> ids = tokenizer.encode(text);
  ASSERT_EQ(ids.size(), expected.at("n_ids").get<size_t>()) << name;
  const auto first = expected.at("first_256").get<std::vector<int32_t>>();
  EXPECT_EQ(std::vector<int32_t>(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(first.size())),
            first)
      << name;
  EXPECT_EQ(sha256_of_ids(ids), expected.at("sha256_ids").get<std::string>()) << name;
  ASSERT_TRUE(expected.at("roundtrip_equal").get<bool>());
  EXPECT_TRUE(tokenizer.decode(ids) == text) << name << ": decode(encode(x)) != x";
  // A second encode is served from the word cache and must not differ.
  EXPECT_EQ(tokenizer.encode(text), ids) << name;
}

TEST(TokenizerGolden, TestTxtMatchesCountHashAndRoundTrips) { check_corpus("test.txt"); }

TEST(TokenizerGolden, ValidTxtMatchesCountHashAndRoundTrips) { check_corpus("valid.txt"); }

TEST(TokenizerGolden, TestTxtIdsEqualTestIdsI32) {
  const std::string raw = read_file(test::shared_dir() + "/fixtures/tokenizer/test_ids.i32");
  ASSERT_EQ(raw.size() % 4, 0u);
  std::vector<int32_t> expected(raw.size() / 4);
  for (size_t i = 0; i < expected.size(); ++i) {
    uint32_t value = 0;
    for (int b = 0; b < 4; ++b) {
      value |= static_cast<uint32_t>(static_cast<uint8_t>(raw[4 * i + static_cast<size_t>(b)]))
               << (8 * b);
    }
    expected[i] = static_cast<int32_t>(value);
  }
  const std::vector<int32_t> ids =
      fixture_tokenizer().encode(read_file(test::shared_dir() + "/data/kdoc/test.txt"));
  ASSERT_EQ(ids.size(), expected.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], expected[i]) << "first difference at id " << i;
  }
}

// --------------------------------------------------------------- encoding --

TEST(TokenizerEncode, VocabularyAndAddedTokens) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  EXPECT_EQ(tokenizer.vocab_size(), 4099u);
  EXPECT_EQ(tokenizer.id_limit(), 4099);
  EXPECT_EQ(tokenizer.token_to_id("<|im_end|>"), 4098);
  EXPECT_EQ(tokenizer.token_to_id("Ġ"), 220);
  EXPECT_EQ(tokenizer.token_to_id("no such token"), std::nullopt);
  EXPECT_EQ(tokenizer.id_to_token(220), "Ġ");
  EXPECT_EQ(tokenizer.id_to_token(5000), std::nullopt);
  ASSERT_EQ(tokenizer.added_tokens().size(), 3u);
  EXPECT_EQ(tokenizer.added_tokens()[1].content, "<|im_start|>");
  EXPECT_TRUE(tokenizer.added_tokens()[1].special);
  EXPECT_EQ(tokenizer.encode("<|im_end|><|im_end|>"), (std::vector<int32_t>{4098, 4098}));
  // Not a complete added token: ordinary text.
  const auto partial = tokenizer.encode("<|im_end|");
  EXPECT_EQ(std::count(partial.begin(), partial.end(), 4098), 0);
}

TEST(TokenizerEncode, NfcFoldsCombiningAccentsBeforeSplitting) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  // "e" + U+0301 COMBINING ACUTE is the same text as precomposed U+00E9.
  EXPECT_EQ(tokenizer.encode("caf\x65\xCC\x81"), tokenizer.encode("caf\xC3\xA9"));
  EXPECT_EQ(tokenizer.normalize("caf\x65\xCC\x81"), "caf\xC3\xA9");
}

TEST(TokenizerEncode, FastNfcAgreesWithUtf8procOnTrickyText) {
  // Combining marks in and out of canonical order, composites that NFC keeps,
  // singletons and exclusions it replaces, Hangul jamo, starters that compose
  // with what precedes them (Oriya, Kannada), kana voicing marks, CJK
  // compatibility ideographs, and plain text around them.
  // clang-format off
  const std::vector<std::string> alphabet = {
      "a", "e", " ", "\n", ">", "\xC3\xA9", "\xCC\x81", "\xCC\xA7", "\xCC\x88", "\xCC\xB8",
      "\xCD\x84", "\xCD\x85", "\xE0\xBD\xB3", "\xE2\x84\xAB", "\xE1\x84\x80", "\xE1\x85\xA1",
      "\xE1\x86\xA8", "\xE1\x86\xA7", "\xEA\xB0\x80", "\xE0\xAD\x87", "\xE0\xAC\xBE",
      "\xE0\xB3\x86", "\xE0\xB3\x95", "\xE3\x82\x99", "\xE3\x81\x8B", "\xF0\xAF\xA0\x80",
      "\xD0\x95", "\xE0\xA5\x98", "\xF0\x9F\xA6\x99", "\xD7\x91\xD6\xBC", "\xE1\xBE\xB3"};
  // clang-format on
  std::mt19937 rng(11);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const size_t length = rng() % 12;
    for (size_t i = 0; i < length; ++i) text += alphabet[rng() % alphabet.size()];
    ASSERT_EQ(nfc(text), nfc_reference(text)) << json(text).dump();
  }
  EXPECT_EQ(nfc("plain ASCII"), "plain ASCII");
  // U+11A7 is not a trailing consonant: L + V compose, U+11A7 stays (found by
  // fuzz_tokenizer; utf8proc 2.8 alone drops it).
  const std::string ga_11a7 = "\xEA\xB0\x80\xE1\x86\xA7";
  EXPECT_EQ(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA7"), ga_11a7);
  EXPECT_EQ(nfc_reference("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA7"), ga_11a7);
  EXPECT_EQ(nfc_reference("x\xEA\xB0\x80\xE1\x86\xA7\xE1\x86\xA7"), "x" + ga_11a7 + "\xE1\x86\xA7");
  EXPECT_EQ(fixture_tokenizer().decode(fixture_tokenizer().encode(ga_11a7)), ga_11a7);
  EXPECT_EQ(nfc("x>\xCC\xB8y"), "x\xE2\x89\xAFy");  // > + U+0338 -> U+226F
}

TEST(TokenizerEncode, AddedTokensAreMatchedBeforeNormalization) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  // '>' + U+0338 COMBINING LONG SOLIDUS OVERLAY composes to U+226F under NFC,
  // but the added token is cut out of the raw text first, as Hugging Face does.
  const std::string text = "<|im_end|>\xCC\xB8";
  const auto ids = tokenizer.encode(text);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 4098);
  EXPECT_EQ(tokenizer.decode(ids), text);
  EXPECT_EQ(tokenizer.normalize(text), text);
  EXPECT_NE(nfc(text), text);
}

TEST(TokenizerEncode, InvalidUtf8InputThrows) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  try {
    tokenizer.encode("ok \xC3\x28 bad");
    FAIL() << "no exception";
  } catch (const tc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("offset 3"), std::string::npos) << e.what();
  }
}

TEST(TokenizerEncode, ManyThreadsAtOnceGiveTheSameIds) {
  const std::string text = read_file(test::shared_dir() + "/data/kdoc/test.txt").substr(0, 120000);
  const std::vector<int32_t> expected = fixture_tokenizer().encode(text);
  // A fresh tokenizer, so the threads fill its empty word cache concurrently.
  const Tokenizer tokenizer = Tokenizer::from_file(fixture_tokenizer_path());
  std::vector<std::vector<int32_t>> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) results[t] = tokenizer.encode(text);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& ids : results) EXPECT_TRUE(ids == expected);
}

TEST(TokenizerEncode, SplitRegexIsReadFromTheFile) {
  json config = fixture_json();
  config["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{L}+";
  const Tokenizer letters_only = Tokenizer::from_file(write_tokenizer(config.dump()));
  // With only letter runs as matches, " world" is no longer one pre-token:
  // the space stands alone.
  std::vector<int32_t> expected = letters_only.encode("Hello");
  expected.push_back(220);
  const auto world = letters_only.encode("world");
  expected.insert(expected.end(), world.begin(), world.end());
  EXPECT_EQ(letters_only.encode("Hello world"), expected);
  EXPECT_NE(letters_only.encode("Hello world"), fixture_tokenizer().encode("Hello world"));
}

TEST(TokenizerEncode, RegexFollowsOnigurumaWhiteSpace) {
  // U+180E MONGOLIAN VOWEL SEPARATOR is white space to PCRE2 but not to
  // Oniguruma (Hugging Face): it must pair with the '!' like any symbol.
  const std::string pattern =
      fixture_json()["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"].get<std::string>();
  const SplitRegex regex = SplitRegex::compile(pattern, false, "test");
  const std::string text = "a\xE1\xA0\x8E! \xC2\xA0x";
  std::vector<Piece> pieces;
  regex.split(text, 0, pieces);
  std::vector<std::string> words;
  for (const Piece& piece : pieces)
    words.push_back(text.substr(piece.begin, piece.end - piece.begin));
  EXPECT_EQ(words, (std::vector<std::string>{"a", "\xE1\xA0\x8E!", " ", "\xC2\xA0x"}));

  EXPECT_EQ(onig_to_pcre2("[^\\S]\\h", "test"), "[^\\S\\x{180E}][0-9a-fA-F]");
  EXPECT_THROW(onig_to_pcre2("[a[b]]", "test"), tc::Error);
}

TEST(TokenizerEncode, EmptyRegexMatchesSplitLikeOniguruma) {
  // "x*" matches empty between other characters; each empty match cuts the
  // text (Hugging Face's find_iter on Oniguruma), "xx" is one piece.
  const SplitRegex regex = SplitRegex::compile("x*", false, "test");
  const std::string text = "abxxc";
  std::vector<Piece> pieces;
  regex.split(text, 0, pieces);
  std::vector<std::string> words;
  for (const Piece& piece : pieces)
    words.push_back(text.substr(piece.begin, piece.end - piece.begin));
  EXPECT_EQ(words, (std::vector<std::string>{"a", "b", "xx", "c"}));
}

TEST(TokenizerEncode, AddedTokensLongestMatchAndStripping) {
  json config = fixture_json();
  auto added = [](int id, const std::string& content, bool lstrip, bool rstrip) {
    return json{{"id", id},         {"content", content}, {"single_word", false},
                {"lstrip", lstrip}, {"rstrip", rstrip},   {"normalized", false},
                {"special", true}};
  };
  config["added_tokens"] =
      json::array({added(4096, "<a>", false, false), added(4097, "<a><b>", false, false),
                   added(4098, "[L]", true, false), added(4099, "[R]", false, true)});
  const Tokenizer tokenizer = Tokenizer::from_file(write_tokenizer(config.dump()));
  EXPECT_EQ(tokenizer.vocab_size(), 4100u);
  // Leftmost-longest: "<a><b>" wins over "<a>".
  EXPECT_EQ(tokenizer.encode("<a><b><a>"), (std::vector<int32_t>{4097, 4096}));
  // lstrip swallows the spaces before, rstrip those after.
  const auto hi = tokenizer.encode("hi");
  std::vector<int32_t> expected = hi;
  expected.push_back(4098);
  expected.push_back(4099);
  expected.insert(expected.end(), hi.begin(), hi.end());
  EXPECT_EQ(tokenizer.encode("hi  [L][R] \n hi"), expected);
}

// --------------------------------------------------------------- decoding --

TEST(TokenizerDecode, IllFormedUtf8BecomesReplacementCharactersLikeHuggingFace) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  auto decode_bytes = [&](std::initializer_list<int> bytes) {
    std::vector<int32_t> ids;
    for (const int byte : bytes) ids.push_back(byte_id(tokenizer, static_cast<uint8_t>(byte)));
    return tokenizer.decode(ids);
  };
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(decode_bytes({0xC3, 0xA9}), "\xC3\xA9");            // valid é
  EXPECT_EQ(decode_bytes({0xC3}), fffd);                        // truncated at the end
  EXPECT_EQ(decode_bytes({'a', 0xC3, 'b'}), "a" + fffd + "b");  // truncated in the middle
  EXPECT_EQ(decode_bytes({0xE2, 0x82}), fffd);                  // maximal subpart: one
  EXPECT_EQ(decode_bytes({0xE2, 0x82, 'x'}), fffd + "x");
  EXPECT_EQ(decode_bytes({0xF0, 0x9F, 0x98}), fffd);                // 3 of 4 bytes
  EXPECT_EQ(decode_bytes({0xF0, 0x80, 0x80}), fffd + fffd + fffd);  // overlong: each byte
  EXPECT_EQ(decode_bytes({0xC0, 0xAF}), fffd + fffd);               // C0 never valid
  EXPECT_EQ(decode_bytes({0xED, 0xA0, 0x80}), fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(decode_bytes({0xF4, 0x90, 0x80, 0x80}), fffd + fffd + fffd + fffd);  // > U+10FFFF
  EXPECT_EQ(decode_bytes({0x80, 0xBF}), fffd + fffd);  // lone continuations
  EXPECT_EQ(decode_bytes({0xFF}), fffd);
  EXPECT_EQ(decode_bytes({0xE1, 0x80, 0xE2, 0xF0, 0x91, 0x92, 0xF1, 0xBF, 0x41}),
            fffd + fffd + fffd + fffd + "A");  // truncated sequences back to back
}

TEST(TokenizerDecode, AddedTokensAndMultiByteTokens) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  EXPECT_EQ(tokenizer.decode(std::vector<int32_t>{4097, 39, 4098}), "<|im_start|>H<|im_end|>");
  EXPECT_EQ(tokenizer.decode(std::vector<int32_t>{}), "");
  // An emoji split over byte tokens comes back whole.
  const std::string llama = "\xF0\x9F\xA6\x99";
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(llama)), llama);
}

TEST(TokenizerDecode, UnknownIdThrows) {
  const Tokenizer& tokenizer = fixture_tokenizer();
  EXPECT_THROW(tokenizer.decode(std::vector<int32_t>{39, 4099}), tc::Error);
  EXPECT_THROW(tokenizer.decode(std::vector<int32_t>{-1}), tc::Error);
  try {
    tokenizer.decode(std::vector<int32_t>{1 << 20});
    FAIL() << "no exception";
  } catch (const tc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("1048576"), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------ scale --

// The slow, obviously correct BPE: repeatedly merge the lowest-ranked
// adjacent pair (leftmost among equals), on strings.
std::vector<std::string> reference_bpe(
    const std::string& word, const std::map<std::pair<std::string, std::string>, size_t>& ranks) {
  std::vector<std::string> parts;
  for (const char c : word) parts.push_back(bytes_to_byte_level(std::string(1, c)));
  while (parts.size() > 1) {
    size_t best = SIZE_MAX;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const auto it = ranks.find({parts[i], parts[i + 1]});
      if (it != ranks.end() && it->second < best) {
        best = it->second;
        best_at = i;
      }
    }
    if (best == SIZE_MAX) break;
    parts[best_at] += parts[best_at + 1];
    parts.erase(parts.begin() + static_cast<ptrdiff_t>(best_at) + 1);
  }
  return parts;
}

TEST(TokenizerScale, Synthetic151kVocabularyLoadsAndMergesLikeTheReference) {
  const SyntheticTokenizerOptions options;  // Qwen2.5's size: 151643 learned tokens
  const std::string content = synthetic_tokenizer_json_text(options);
  const std::string path = write_tokenizer(content);
  const Tokenizer tokenizer = Tokenizer::from_file(path);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());  // 7 MB
  const auto added = static_cast<int32_t>(qwen2_added_tokens().size());
  EXPECT_EQ(tokenizer.vocab_size(), options.learned_tokens + added);
  EXPECT_EQ(tokenizer.token_to_id("<|endoftext|>"), static_cast<int32_t>(options.learned_tokens));
  EXPECT_EQ(tokenizer.token_to_id("<|im_end|>"), static_cast<int32_t>(options.learned_tokens + 2));

  const json config = json::parse(content);
  const json& merges = config["model"]["merges"];
  ASSERT_EQ(merges.size(), static_cast<size_t>(options.learned_tokens - 256));
  std::map<std::pair<std::string, std::string>, size_t> ranks;
  for (size_t i = 0; i < merges.size(); ++i)
    ranks.emplace(std::make_pair(merges[i][0].get<std::string>(), merges[i][1].get<std::string>()),
                  i);
  // A token made by a single merge of two letters is one id.
  const auto two_letters = std::find_if(ranks.begin(), ranks.end(), [](const auto& merge) {
    return merge.first.first.size() == 1 && std::isalpha(merge.first.first[0]) &&
           merge.first.second.size() == 1 && std::isalpha(merge.first.second[0]);
  });
  ASSERT_NE(two_letters, ranks.end());
  const std::string pair = two_letters->first.first + two_letters->first.second;
  EXPECT_EQ(tokenizer.encode(pair), std::vector<int32_t>{*tokenizer.token_to_id(pair)});

  // Random lower-case words (each one pre-token, with an optional leading
  // space) must merge exactly as the reference does.
  std::mt19937 rng(7);
  const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  size_t checked_multi_merge = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string word = rng() % 2 == 0 ? " " : "";
    const size_t length = 1 + rng() % 24;
    for (size_t i = 0; i < length; ++i) word += letters[rng() % letters.size()];
    std::vector<int32_t> expected;
    for (const std::string& part : reference_bpe(word, ranks)) {
      expected.push_back(*tokenizer.token_to_id(part));
    }
    if (expected.size() < length) ++checked_multi_merge;
    ASSERT_EQ(tokenizer.encode(word), expected) << json(word).dump();
  }
  EXPECT_GT(checked_multi_merge, 200u);  // the words really exercised merging

  // The token of the last merge decodes back to its text.
  const auto last = static_cast<int32_t>(options.learned_tokens - 1);
  EXPECT_EQ(tokenizer.decode(std::vector<int32_t>{last}),
            *byte_level_to_bytes(*tokenizer.id_to_token(last)));
}

// tokenizer.json writes merges as [left, right] pairs (tokenizers >= 0.20)
// or, in older files, as "left right" strings: both load alike.
TEST(TokenizerScale, MergesAsPairsAndAsStringsLoadAlike) {
  SyntheticTokenizerOptions options;
  options.learned_tokens = 256 + 5000;
  json config = json::parse(synthetic_tokenizer_json_text(options));
  const Tokenizer pairs = Tokenizer::from_file(write_tokenizer(config.dump()));
  for (json& merge : config["model"]["merges"])
    merge = merge[0].get<std::string>() + " " + merge[1].get<std::string>();
  const Tokenizer legacy = Tokenizer::from_file(write_tokenizer(config.dump()));
  const std::string text = "the quick brown fox jumps over the lazy dog, Quickly!";
  EXPECT_EQ(legacy.encode(text), pairs.encode(text));
  EXPECT_LT(legacy.encode(text).size(), text.size());
}

// ------------------------------------------------------------- bad files --

// Loads `content` as tokenizer.json and returns the error message (the test
// fails when loading succeeds or the message does not name the file).
std::string load_error(const std::string& content) {
  const std::string path = write_tokenizer(content);
  try {
    Tokenizer::from_file(path);
  } catch (const tc::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "loading succeeded";
  return "";
}

TEST(TokenizerLoad, MissingFileNamesIt) {
  const std::string dir = test::make_temp_dir();
  try {
    Tokenizer::from_model_dir(dir);
    FAIL() << "no exception";
  } catch (const tc::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/tokenizer.json"), std::string::npos) << e.what();
  }
}

TEST(TokenizerLoad, MalformedJson) {
  EXPECT_NE(load_error("{\"model\": {").find("malformed JSON"), std::string::npos);
  EXPECT_NE(load_error("[1, 2]").find("not a JSON object"), std::string::npos);
}

TEST(TokenizerLoad, UnsupportedPreTokenizerType) {
  json config = fixture_json();
  config["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}};
  EXPECT_NE(load_error(config.dump()).find("pre_tokenizer: unsupported type 'Metaspace'"),
            std::string::npos);

  config = fixture_json();
  config["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed";
  EXPECT_NE(load_error(config.dump()).find("pre_tokenizer.pretokenizers[0].behavior"),
            std::string::npos);

  config = fixture_json();
  config["pre_tokenizer"]["pretokenizers"][1]["use_regex"] = true;
  EXPECT_NE(load_error(config.dump()).find("use_regex"), std::string::npos);
}

TEST(TokenizerLoad, BadRegex) {
  json config = fixture_json();
  config["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(\\p{L}+";
  const std::string message = load_error(config.dump());
  EXPECT_NE(message.find("pattern.Regex"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid regex"), std::string::npos) << message;
}

TEST(TokenizerLoad, MissingOrInconsistentModelFields) {
  json config = fixture_json();
  config["model"].erase("vocab");
  EXPECT_NE(load_error(config.dump()).find("model.vocab: missing"), std::string::npos);

  config = fixture_json();
  config["model"]["merges"].push_back(json::array({"Ġ", "no-such-token"}));
  EXPECT_NE(load_error(config.dump()).find("is not in model.vocab"), std::string::npos);

  config = fixture_json();
  config["model"]["merges"][0] = "three part merge";
  EXPECT_NE(load_error(config.dump()).find("model.merges[0]"), std::string::npos);

  config = fixture_json();
  config["model"]["type"] = "WordPiece";
  EXPECT_NE(load_error(config.dump()).find("model.type: unsupported type 'WordPiece'"),
            std::string::npos);

  config = fixture_json();
  config["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_NE(load_error(config.dump()).find("normalizer: unsupported type 'Lowercase'"),
            std::string::npos);

  config = fixture_json();
  config["decoder"] = {{"type", "WordPiece"}};
  EXPECT_NE(load_error(config.dump()).find("decoder: unsupported type"), std::string::npos);

  config = fixture_json();
  config["added_tokens"][0]["id"] = -5;
  EXPECT_NE(load_error(config.dump()).find("added_tokens[0].id"), std::string::npos);
}

// -------------------------------------------------------- command line --

TEST(TokenizerCli, EncodesHelloWorldAsJson) {
  const auto [status, output] = run_command(
      shell_quote(test::tinycompress_bin()) + " tokenize --model " +
      shell_quote(test::fixture_model("tiny-qwen2-s")) + " --text 'Hello world' --json");
  ASSERT_EQ(status, 0) << output;
  const json parsed = json::parse(output);
  ASSERT_TRUE(parsed.is_object());
  EXPECT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed.at("ids").get<std::vector<int32_t>>(),
            (std::vector<int32_t>{39, 319, 308, 2985, 480}));
}

TEST(TokenizerCli, EncodesAFileAndDecodesIds) {
  const std::string dir = test::make_temp_dir();
  write_file(dir + "/in.txt", "  leading spaces\tand\ttabs\r\n");
  const std::string base = shell_quote(test::tinycompress_bin()) + " tokenize --model " +
                           shell_quote(test::fixture_model("tiny-qwen2-s"));
  const auto [status, output] = run_command(base + " --file " + shell_quote(dir + "/in.txt"));
  ASSERT_EQ(status, 0) << output;
  const std::vector<int32_t> expected =
      fixture_tokenizer().encode("  leading spaces\tand\ttabs\r\n");
  EXPECT_EQ(output, fmt::format("{}\n", fmt::join(expected, ",")));

  const auto [decode_status, decoded] =
      run_command(base + " --decode " + shell_quote(fmt::format("{}", fmt::join(expected, ","))));
  ASSERT_EQ(decode_status, 0);
  EXPECT_EQ(decoded, "  leading spaces\tand\ttabs\r\n");
}

TEST(TokenizerCli, RejectsMissingOrConflictingInputs) {
  const std::string base = shell_quote(test::tinycompress_bin()) + " tokenize --model " +
                           shell_quote(test::fixture_model("tiny-qwen2-s"));
  const auto [none_status, none_output] = run_command(base + " 2>&1");
  EXPECT_EQ(none_status, 1);
  EXPECT_NE(none_output.find("exactly one of --text, --file or --decode"), std::string::npos)
      << none_output;
  const auto [both_status, both_output] = run_command(base + " --text a --decode 1 2>&1");
  EXPECT_EQ(both_status, 1);
  const auto [file_status, file_output] = run_command(base + " --file /no/such/file.txt 2>&1");
  EXPECT_EQ(file_status, 1);
  EXPECT_NE(file_output.find("/no/such/file.txt"), std::string::npos) << file_output;
  const std::string bad_utf8 = test::make_temp_dir() + "/latin1.txt";
  write_file(bad_utf8, "caf\xE9\n");
  const auto [utf8_status, utf8_output] = run_command(base + " --file " + bad_utf8 + " 2>&1");
  EXPECT_EQ(utf8_status, 1);
  EXPECT_NE(utf8_output.find(bad_utf8 + ": not valid UTF-8 (byte offset 3)"), std::string::npos)
      << utf8_output;
}

}  // namespace
}  // namespace tc::tokenizer
