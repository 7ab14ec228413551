// Data sets: SHA-256, .xz reading, split loading, calibration windows.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/sha256.h"
#include "eval/dataset.h"
#include "io/xz_reader.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace tc {
namespace {

const std::string kKdocDir = TC_SOURCE_DIR "/data/kdoc";
constexpr size_t kTrainBytes = 20'152'981;  // data/kdoc/README.md

void write_file(const std::string& path, std::string_view content) {
  std::ofstream file(path, std::ios::binary);
  file.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(file.good()) << path;
}

std::string read_file(const std::string& path) {
  const MappedFile file(path);
  return std::string(reinterpret_cast<const char*>(file.data()), file.size());
}

// Runs `body`, expects a tc::Error, and returns its message.
template <typename Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no tc::Error thrown";
  return "";
}

const tokenizer::Tokenizer& test_tokenizer() {
  static const tokenizer::Tokenizer tok =
      tokenizer::Tokenizer::from_model_dir(TC_SOURCE_DIR "/models/tiny-qwen2-s");
  return tok;
}

// The train split is 20 MB decompressed; load it once for the whole suite.
const eval::TextSplit& kdoc_train() {
  static const eval::TextSplit split = eval::load_split(kKdocDir, "train");
  return split;
}

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const uint8_t abc[] = {'a', 'b', 'c'};
  EXPECT_EQ(sha256_hex(std::span<const uint8_t>(abc)), sha256_hex("abc"));
}

TEST(Sha256, StreamingMatchesOneShot) {
  Sha256 hash;
  EXPECT_EQ(hash.hex_digest(), sha256_hex(""));
  hash.update("ab");
  EXPECT_EQ(hash.hex_digest(), sha256_hex("ab"));  // digest does not end the hash
  hash.update(std::string_view());
  hash.update("c");
  EXPECT_EQ(hash.hex_digest(), sha256_hex("abc"));
  Sha256 moved = std::move(hash);
  moved.update("d");
  EXPECT_EQ(moved.hex_digest(), sha256_hex("abcd"));
}

TEST(XzReader, DecompressesTheBundledTrainSplit) {
  const auto start = std::chrono::steady_clock::now();
  const std::string text = io::read_xz_file(kKdocDir + "/train.txt.xz");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(text.size(), kTrainBytes);
  EXPECT_TRUE(
      text.starts_with(".. SPDX-License-Identifier: GPL-2.0\n\n"
                       "========================================\n"
                       "ACPI considerations for PCI host bridges\n"))
      << text.substr(0, 200);
  std::printf("[xz] train.txt.xz: %zu bytes decompressed in %.3f s\n", text.size(), seconds);
}

TEST(XzReader, CorruptOrTruncatedStreamNamesTheFile) {
  const std::string dir = test::make_temp_dir();
  const std::string original = read_file(kKdocDir + "/train.txt.xz");

  const std::string truncated = dir + "/truncated.txt.xz";
  write_file(truncated, std::string_view(original).substr(0, original.size() / 2));
  std::string message = error_of([&] { io::read_xz_file(truncated); });
  EXPECT_NE(message.find(truncated), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;

  // Cut only the 12-byte stream footer: all data decodes, the end is missing.
  const std::string no_footer = dir + "/no_footer.txt.xz";
  write_file(no_footer, std::string_view(original).substr(0, original.size() - 12));
  message = error_of([&] { io::read_xz_file(no_footer); });
  EXPECT_NE(message.find(no_footer), std::string::npos) << message;

  std::string flipped = original;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
  const std::string corrupt = dir + "/corrupt.txt.xz";
  write_file(corrupt, flipped);
  message = error_of([&] { io::read_xz_file(corrupt); });
  EXPECT_NE(message.find(corrupt), std::string::npos) << message;

  const std::string trailing = dir + "/trailing.txt.xz";
  write_file(trailing, original + "garbage!");
  message = error_of([&] { io::read_xz_file(trailing); });
  EXPECT_NE(message.find(trailing), std::string::npos) << message;

  const std::string plain = dir + "/plain.txt.xz";
  write_file(plain, "not compressed at all\n");
  message = error_of([&] { io::read_xz_file(plain); });
  EXPECT_NE(message.find("not in .xz format"), std::string::npos) << message;

  const std::string empty = dir + "/empty.txt.xz";
  write_file(empty, "");
  message = error_of([&] { io::read_xz_file(empty); });
  EXPECT_NE(message.find(empty), std::string::npos) << message;

  message = error_of([&] { io::read_xz_file(dir + "/absent.xz"); });
  EXPECT_NE(message.find(dir + "/absent.xz"), std::string::npos) << message;
  std::filesystem::remove_all(dir);
}

TEST(Dataset, LoadsTheBundledKdocSplits) {
  const eval::TextSplit& train = kdoc_train();
  EXPECT_EQ(train.dataset, "kdoc");
  EXPECT_EQ(train.layout, eval::kLayoutSplitTxt);
  EXPECT_EQ(train.split, "train");
  EXPECT_EQ(train.file, kKdocDir + "/train.txt.xz");
  EXPECT_EQ(train.hashed, "decompressed_text");
  EXPECT_EQ(train.text.size(), kTrainBytes);
  EXPECT_EQ(train.sha256, sha256_hex(train.text));

  const eval::TextSplit valid = eval::load_split(kKdocDir, "valid");
  EXPECT_EQ(valid.split, "valid");
  EXPECT_EQ(valid.text.size(), 707'935u);

  const eval::TextSplit test = eval::load_split(kKdocDir + "/", "test");
  EXPECT_EQ(test.dataset, "kdoc");
  EXPECT_EQ(test.split, "test");
  EXPECT_EQ(test.hashed, "file_bytes");
  EXPECT_EQ(test.text.size(), 513'892u);
  const MappedFile file(kKdocDir + "/test.txt");
  EXPECT_EQ(test.sha256, sha256_hex(file.bytes()));
  EXPECT_EQ(test.text, read_file(kKdocDir + "/test.txt"));

  const std::string message = error_of([&] { eval::load_split(kKdocDir, "validation"); });
  EXPECT_NE(message.find("validation"), std::string::npos) << message;
}

TEST(Dataset, RecognizesWikitextPlainFilesAndIncompleteFolders) {
  const std::string wiki = test::make_temp_dir();
  write_file(wiki + "/wiki.train.raw", " \n = Valkyria Chronicles III = \n");
  write_file(wiki + "/wiki.valid.raw", " \n = Homarus gammarus = \n");
  write_file(wiki + "/wiki.test.raw", " \n = Robert Boulter = \n");
  const eval::TextSplit test = eval::load_split(wiki, "test");
  EXPECT_EQ(test.dataset, "wikitext-2-raw-v1");
  EXPECT_EQ(test.layout, eval::kLayoutWikitext);
  EXPECT_EQ(test.split, "test");
  EXPECT_EQ(test.file, wiki + "/wiki.test.raw");
  EXPECT_EQ(test.text, " \n = Robert Boulter = \n");  // as is, leading space included
  EXPECT_EQ(test.sha256, sha256_hex(test.text));

  const eval::TextSplit plain = eval::load_split(wiki + "/wiki.valid.raw", "text");
  EXPECT_EQ(plain.dataset, "text");
  EXPECT_EQ(plain.split, "text");
  EXPECT_EQ(plain.layout, eval::kLayoutFile);
  EXPECT_EQ(plain.text, " \n = Homarus gammarus = \n");
  EXPECT_EQ(eval::load_split(wiki + "/wiki.valid.raw", "").split, "text");
  std::string message = error_of([&] { eval::load_split(wiki + "/wiki.valid.raw", "train"); });
  EXPECT_NE(message.find("single text file"), std::string::npos) << message;

  const std::string partial = test::make_temp_dir();
  write_file(partial + "/train.txt", "one\n");
  write_file(partial + "/valid.txt", "two\n");
  for (const char* split : {"train", "test"}) {
    message = error_of([&] { eval::load_split(partial, split); });
    EXPECT_NE(message.find(partial), std::string::npos) << message;
    EXPECT_NE(message.find("missing test.txt"), std::string::npos) << message;
  }
  const std::string empty = test::make_temp_dir();
  message = error_of([&] { eval::load_split(empty, "test"); });
  EXPECT_NE(message.find("wiki.{train,valid,test}.raw"), std::string::npos) << message;
  EXPECT_NE(message.find("{train,valid,test}.txt"), std::string::npos) << message;
  message = error_of([&] { eval::load_split(empty + "/absent", "test"); });
  EXPECT_NE(message.find(empty + "/absent"), std::string::npos) << message;

  // "wikitext if present, else the bundled kdoc".
  EXPECT_EQ(eval::choose_eval_dataset({empty + "/absent", partial, kKdocDir}), kKdocDir);
  EXPECT_EQ(eval::choose_eval_dataset({wiki, kKdocDir}), wiki);
  EXPECT_EQ(eval::choose_dataset({partial, wiki}).dataset, "wikitext-2-raw-v1");
  EXPECT_FALSE(eval::detect_dataset(partial).has_value());
  message = error_of([&] { eval::choose_eval_dataset({partial, empty}); });
  EXPECT_NE(message.find(partial + ": incomplete"), std::string::npos) << message;
  EXPECT_NE(message.find(empty + ": no data set files"), std::string::npos) << message;

  for (const std::string& dir : {wiki, partial, empty}) std::filesystem::remove_all(dir);
}

TEST(Dataset, TokenWindowsAreDeterministicExactAndHashed) {
  const eval::TextSplit& train = kdoc_train();
  const tokenizer::Tokenizer& tok = test_tokenizer();
  const auto start = std::chrono::steady_clock::now();
  const std::vector<eval::TextWindow> windows = eval::sample_token_windows(train, tok, 16, 256, 7);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[windows] 16 x 256 tokens in %.3f s\n", seconds);
  ASSERT_EQ(windows.size(), 16u);

  const std::vector<eval::TextWindow> again = eval::sample_token_windows(train, tok, 16, 256, 7);
  const std::vector<eval::TextWindow> other = eval::sample_token_windows(train, tok, 16, 256, 8);
  std::set<int64_t> starts;
  int differ = 0;
  for (size_t i = 0; i < windows.size(); ++i) {
    const eval::TextWindow& w = windows[i];
    EXPECT_EQ(w.byte_offset, again[i].byte_offset);
    EXPECT_EQ(w.byte_length, again[i].byte_length);
    EXPECT_EQ(w.ids, again[i].ids);
    differ += w.byte_offset != other[i].byte_offset;
    starts.insert(w.byte_offset);

    ASSERT_EQ(w.ids.size(), 256u);
    const std::string_view slice = eval::window_text(train, w);
    EXPECT_EQ(w.sha256, sha256_hex(slice));
    EXPECT_TRUE(w.byte_offset == 0 || train.text[static_cast<size_t>(w.byte_offset) - 1] == '\n');
    std::vector<int32_t> ids = tok.encode(slice);
    ASSERT_GE(ids.size(), 256u);
    ids.resize(256);
    EXPECT_EQ(ids, w.ids);
  }
  EXPECT_EQ(starts.size(), windows.size());
  EXPECT_GT(differ, 12);

  const nlohmann::json entry = eval::to_json(train, windows, "calibration");
  EXPECT_EQ(entry["purpose"], "calibration");
  EXPECT_EQ(entry["dataset"], "kdoc");
  EXPECT_EQ(entry["split"], "train");
  EXPECT_EQ(entry["file"], train.file);
  EXPECT_EQ(entry["sha256"], train.sha256);
  EXPECT_EQ(entry["hashed"], "decompressed_text");
  ASSERT_EQ(entry["windows"].size(), 16u);
  EXPECT_EQ(entry["windows"][3]["byte_offset"], windows[3].byte_offset);
  EXPECT_EQ(entry["windows"][3]["byte_length"], windows[3].byte_length);
  EXPECT_EQ(entry["windows"][3]["sha256"], windows[3].sha256);
  EXPECT_FALSE(entry.contains("text"));
  EXPECT_FALSE(entry["windows"][3].contains("ids"));
  EXPECT_THROW(eval::to_json(train, windows, "evaluation"), Error);
}

TEST(Dataset, TokenWindowsOnlyFromTrainSplits) {
  const tokenizer::Tokenizer& tok = test_tokenizer();
  const eval::TextSplit valid = eval::load_split(kKdocDir, "valid");
  std::string message = error_of([&] { eval::sample_token_windows(valid, tok, 2, 64, 1); });
  EXPECT_NE(message.find("train split"), std::string::npos) << message;
  EXPECT_NE(message.find(valid.file), std::string::npos) << message;
  message = error_of([&] { eval::to_json(valid, {}, "training"); });
  EXPECT_NE(message.find("train split"), std::string::npos) << message;

  eval::TextSplit tiny{.dataset = "text",
                       .layout = eval::kLayoutFile,
                       .split = "train",
                       .file = "tiny.txt",
                       .hashed = "file_bytes",
                       .sha256 = "",
                       .text = "first line here\nsecond line\nlast"};
  message = error_of([&] { eval::sample_token_windows(tiny, tok, 1, 1000, 1); });
  EXPECT_NE(message.find("fewer than one window"), std::string::npos) << message;
  // Near the end the window grows backwards; all of the text is taken here.
  const size_t all = tok.encode(tiny.text).size();
  const auto windows = eval::sample_token_windows(tiny, tok, 5, static_cast<int>(all), 3);
  for (const eval::TextWindow& w : windows) {
    EXPECT_EQ(w.byte_offset, 0);
    EXPECT_EQ(static_cast<size_t>(w.byte_length), tiny.text.size());
    EXPECT_EQ(w.ids, tok.encode(tiny.text));
  }
}

TEST(Dataset, TextOccursIn) {
  const std::string haystack = "The quick brown fox\njumps over the lazy dog.\n";
  EXPECT_TRUE(eval::text_occurs_in("fox\njumps", haystack));
  EXPECT_TRUE(eval::text_occurs_in(haystack, haystack));
  EXPECT_TRUE(eval::text_occurs_in("", haystack));
  EXPECT_FALSE(eval::text_occurs_in("fox jumps", haystack));
  EXPECT_FALSE(eval::text_occurs_in(haystack + "!", haystack));

  // The bundled splits are disjoint: a train window is not in test.txt, a
  // test paragraph is.
  const eval::TextSplit test = eval::load_split(kKdocDir, "test");
  const auto windows = eval::sample_token_windows(kdoc_train(), test_tokenizer(), 2, 128, 11);
  EXPECT_FALSE(
      eval::text_occurs_in(std::string(eval::window_text(kdoc_train(), windows[0])), test.text));
  EXPECT_TRUE(eval::text_occurs_in(test.text.substr(100'000, 2'000), test.text));
}

}  // namespace
}  // namespace tc
