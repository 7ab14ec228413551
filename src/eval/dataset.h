// Text data sets for evaluation and for calibration/training.
//
// Three layouts are recognized:
//   a folder with wiki.train.raw, wiki.valid.raw, wiki.test.raw (the official
//     wikitext-2-raw-v1 archive)                    -> dataset "wikitext-2-raw-v1"
//   a folder with train.txt (or train.txt.xz), valid.txt, test.txt (the bundled
//     data/kdoc corpus)                             -> dataset = the folder's base name
//   any single text file                            -> dataset "text", split "text"
// Text is used exactly as stored (no line filtering, no normalization), so a
// result's sha256 names the bytes that were scored or sampled.
//
// Calibration and training may only read a "train" split; sample_token_windows
// refuses anything else, and to_json() records the exact byte slices used so
// the audit can re-hash them and check none occurs in the evaluation file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace tc::eval {

inline constexpr const char* kLayoutWikitext = "wiki.{train,valid,test}.raw";
inline constexpr const char* kLayoutSplitTxt = "{train,valid,test}.txt";
inline constexpr const char* kLayoutFile = "file";

struct TextSplit {
  std::string dataset;  // "wikitext-2-raw-v1", the folder's base name ("kdoc"), or "text"
  std::string layout;   // kLayoutWikitext, kLayoutSplitTxt or kLayoutFile
  std::string split;    // "train", "valid", "test", or "text" for a single file
  std::string file;     // the path actually read
  // What `sha256` is the hash of: "file_bytes" (the file as stored, which is
  // also `text`) or "decompressed_text" (for .xz files: of `text`, so byte
  // offsets into `text` and the hash refer to the same bytes).
  std::string hashed;
  std::string sha256;
  std::string text;
};

// Loads one split. `dataset_dir_or_file` is a data set folder (split is
// "train", "valid" or "test"; the folder must hold a complete data set of one
// layout) or a single text file (split must be "text" or empty). Throws
// tc::Error naming the folder and the files looked for.
TextSplit load_split(const std::string& dataset_dir_or_file, const std::string& split);

// A folder that holds a complete data set.
struct DataSetChoice {
  std::string dir;      // as given
  std::string dataset;  // as TextSplit::dataset
  std::string layout;   // as TextSplit::layout
};

// The data set in `dir`, or nullopt when `dir` is not a folder holding all
// three splits of one layout.
std::optional<DataSetChoice> detect_dataset(const std::string& dir);

// The first candidate folder that holds a complete data set, e.g.
// {"data/wikitext-2-raw", "data/kdoc"} for "wikitext if present, else the
// bundled kdoc". Throws tc::Error listing each candidate and why it was
// skipped when none qualifies.
DataSetChoice choose_dataset(const std::vector<std::string>& candidates);
std::string choose_eval_dataset(const std::vector<std::string>& candidates);

// One calibration/training window: the text slice [byte_offset,
// byte_offset + byte_length) of the split's text and its tokens.
struct TextWindow {
  int64_t byte_offset = 0;
  int64_t byte_length = 0;
  std::string sha256;  // of the slice's bytes
  std::vector<int32_t> ids;
};

// `n_windows` windows of exactly `tokens_per_window` tokens from a train split.
// Deterministic given `seed` (SplitMix64, no std:: distributions, so the same
// seed gives the same windows with any standard library): each window starts
// at a uniformly drawn byte offset moved back to the start of its line, and
// takes whole lines until the slice encodes to at least tokens_per_window
// tokens (near the end of the text it takes earlier lines instead); ids are
// encode(slice) truncated to tokens_per_window. Windows never share a start
// unless the text has too few lines; they may overlap. Throws tc::Error when
// `split.split` is not "train", or the text has fewer tokens than one window.
std::vector<TextWindow> sample_token_windows(const TextSplit& split,
                                             const tokenizer::Tokenizer& tok, int n_windows,
                                             int tokens_per_window, uint64_t seed);

// The text of a window (bounds-checked against the split's text).
std::string_view window_text(const TextSplit& split, const TextWindow& window);

// The results file's `data_used` entry (docs/RESULTS_SCHEMA.md): purpose
// ("calibration" or "training"), dataset, layout, split, file, sha256, hashed,
// and windows [{byte_offset, byte_length, sha256, n_tokens}] — no text, no ids.
// Refuses a split other than "train" and any other purpose.
nlohmann::json to_json(const TextSplit& split, const std::vector<TextWindow>& windows,
                       const std::string& purpose);

// Whether `needle` occurs in `haystack` (the audit: a calibration window's text
// must not appear in the evaluation file). An empty needle occurs everywhere.
bool text_occurs_in(const std::string& needle, const std::string& haystack);

}  // namespace tc::eval
