#include "eval/dataset.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/sha256.h"
#include "io/xz_reader.h"

namespace tc::eval {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSplits[] = {"train", "valid", "test"};

bool is_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error);
}

// What a folder holds: the layout it looks like, the file of each split
// found, and the files of that layout that are missing.
struct Probe {
  std::string layout;  // empty: neither layout's files are there
  std::string dataset;
  std::vector<std::string> files;  // per kSplits, empty where missing
  std::vector<std::string> missing;
};

// The folder's own name, also for "data/kdoc/" and "." spellings.
std::string folder_name(const std::string& dir) {
  fs::path path = fs::path(dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // trailing separator
  std::string name = path.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code error;
    const fs::path absolute = fs::weakly_canonical(dir, error);
    if (!error) name = absolute.filename().string();
  }
  return name.empty() ? "text" : name;
}

Probe probe_folder(const std::string& dir) {
  const fs::path root(dir);
  Probe probe;
  probe.files.resize(3);
  // wikitext first: its file names cannot be confused with anything else.
  bool any_wiki = false;
  for (const char* split : kSplits) {
    any_wiki = any_wiki || is_file(root / fmt::format("wiki.{}.raw", split));
  }
  if (any_wiki) {
    probe.layout = kLayoutWikitext;
    probe.dataset = "wikitext-2-raw-v1";
    for (size_t i = 0; i < 3; ++i) {
      const fs::path path = root / fmt::format("wiki.{}.raw", kSplits[i]);
      if (is_file(path)) {
        probe.files[i] = path.string();
      } else {
        probe.missing.push_back(path.filename().string());
      }
    }
    return probe;
  }
  bool any_txt = is_file(root / "train.txt.xz");
  for (const char* split : kSplits) {
    any_txt = any_txt || is_file(root / fmt::format("{}.txt", split));
  }
  if (!any_txt) return probe;
  probe.layout = kLayoutSplitTxt;
  probe.dataset = folder_name(dir);
  for (size_t i = 0; i < 3; ++i) {
    const fs::path plain = root / fmt::format("{}.txt", kSplits[i]);
    // The uncompressed file wins when both exist: it is what
    // `xz -dc train.txt.xz > train.txt` leaves, and needs no decompression.
    if (is_file(plain)) {
      probe.files[i] = plain.string();
    } else if (i == 0 && is_file(root / "train.txt.xz")) {
      probe.files[i] = (root / "train.txt.xz").string();
    } else {
      probe.missing.push_back(i == 0 ? "train.txt (or train.txt.xz)" : plain.filename().string());
    }
  }
  return probe;
}

std::string looked_for() {
  return fmt::format("looked for {} (wikitext-2-raw-v1) or {} with train.txt.xz accepted",
                     kLayoutWikitext, kLayoutSplitTxt);
}

// Why `dir` holds no complete data set; empty when it does.
std::string why_not_dataset(const std::string& dir, const Probe& probe) {
  std::error_code error;
  if (!fs::exists(dir, error)) return "no such folder";
  if (!fs::is_directory(dir, error)) return "not a folder";
  if (probe.layout.empty()) return "no data set files; " + looked_for();
  if (!probe.missing.empty()) {
    return fmt::format("incomplete {} data set: missing {}", probe.layout,
                       fmt::join(probe.missing, ", "));
  }
  return "";
}

// Reads one file; .xz files are decompressed and their text hashed.
void read_into(TextSplit& out, const std::string& path) {
  out.file = path;
  if (path.ends_with(".xz")) {
    out.text = io::read_xz_file(path);
    out.hashed = "decompressed_text";
    out.sha256 = sha256_hex(out.text);
    return;
  }
  const MappedFile file(path);
  out.text.assign(reinterpret_cast<const char*>(file.data()), file.size());
  out.hashed = "file_bytes";
  out.sha256 = sha256_hex(file.bytes());
}

// Start of the line holding byte `pos` (0 for the first line).
size_t line_start(const std::string& text, size_t pos) {
  if (pos == 0) return 0;
  const size_t newline = text.rfind('\n', pos - 1);
  return newline == std::string::npos ? 0 : newline + 1;
}

// One past the end of the line starting at `pos`, its '\n' included.
size_t line_end(const std::string& text, size_t pos) {
  const size_t newline = text.find('\n', pos);
  return newline == std::string::npos ? text.size() : newline + 1;
}

// SplitMix64 (Steele, Lea, Flood 2014): a fixed, documented sequence, so the
// audit or a Python script can redraw the same offsets from the seed.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void require_train(const TextSplit& split, const char* what) {
  if (split.split != "train") {
    fail(
        "{}: {} refused: split is \"{}\", and calibration and training data may only come "
        "from a train split",
        split.file, what, split.split);
  }
}

}  // namespace

std::optional<DataSetChoice> detect_dataset(const std::string& dir) {
  const Probe probe = probe_folder(dir);
  if (!why_not_dataset(dir, probe).empty()) return std::nullopt;
  return DataSetChoice{.dir = dir, .dataset = probe.dataset, .layout = probe.layout};
}

DataSetChoice choose_dataset(const std::vector<std::string>& candidates) {
  if (candidates.empty()) fail("no data set folder given to choose from");
  std::vector<std::string> reasons;
  for (const std::string& dir : candidates) {
    const Probe probe = probe_folder(dir);
    const std::string why = why_not_dataset(dir, probe);
    if (why.empty()) {
      return DataSetChoice{.dir = dir, .dataset = probe.dataset, .layout = probe.layout};
    }
    reasons.push_back(fmt::format("{}: {}", dir, why));
  }
  fail("no candidate folder holds a complete data set ({})", fmt::join(reasons, "; "));
}

std::string choose_eval_dataset(const std::vector<std::string>& candidates) {
  return choose_dataset(candidates).dir;
}

TextSplit load_split(const std::string& dataset_dir_or_file, const std::string& split) {
  const std::string& path = dataset_dir_or_file;
  std::error_code error;
  if (!fs::exists(path, error)) fail("{}: no such data set folder or text file", path);
  TextSplit out;
  if (!fs::is_directory(path, error)) {
    if (!split.empty() && split != "text") {
      fail(
          "{}: is a single text file, which has no \"{}\" split (ask for split \"text\", or "
          "give a data set folder: {})",
          path, split, looked_for());
    }
    out.dataset = "text";
    out.layout = kLayoutFile;
    out.split = "text";
    read_into(out, path);
    return out;
  }
  const auto index = std::find(std::begin(kSplits), std::end(kSplits), split);
  if (index == std::end(kSplits)) {
    fail("{}: unknown split \"{}\" (expected train, valid or test)", path, split);
  }
  const Probe probe = probe_folder(path);
  const std::string why = why_not_dataset(path, probe);
  if (!why.empty()) fail("{}: {}", path, why);
  out.dataset = probe.dataset;
  out.layout = probe.layout;
  out.split = split;
  read_into(out, probe.files[static_cast<size_t>(index - std::begin(kSplits))]);
  return out;
}

std::vector<TextWindow> sample_token_windows(const TextSplit& split,
                                             const tokenizer::Tokenizer& tok, int n_windows,
                                             int tokens_per_window, uint64_t seed) {
  require_train(split, "sampling token windows");
  if (n_windows <= 0 || tokens_per_window <= 0) {
    fail(
        "{}: sampling token windows needs n_windows > 0 and tokens_per_window > 0 (got {} "
        "and {})",
        split.file, n_windows, tokens_per_window);
  }
  const std::string& text = split.text;
  if (text.empty()) fail("{}: empty text, no windows to sample", split.file);
  const size_t want = static_cast<size_t>(tokens_per_window);

  const auto encode = [&](size_t begin, size_t end) {
    try {
      return tok.encode(std::string_view(text).substr(begin, end - begin));
    } catch (const Error& e) {
      fail("{}: cannot tokenize bytes [{}, {}): {}", split.file, begin, end, e.what());
    }
  };

  std::vector<TextWindow> windows;
  windows.reserve(static_cast<size_t>(n_windows));
  std::set<size_t> used_starts;
  // Redraws of an already used start are bounded, so a text with fewer lines
  // than windows still terminates (and then repeats starts).
  int redraws_left = 64 * n_windows;
  uint64_t state = seed;
  while (static_cast<int>(windows.size()) < n_windows) {
    size_t start = line_start(text, splitmix64(state) % text.size());
    if (used_starts.contains(start) && redraws_left-- > 0) continue;

    // Whole lines until their separate token counts reach the target: a
    // cheap estimate, since tokens rarely merge across a line break.
    size_t end = start;
    size_t estimate = 0;
    while (estimate < want && end < text.size()) {
      const size_t next = line_end(text, end);
      estimate += encode(end, next).size();
      end = next;
    }
    // Then the slice itself decides; add lines after it, or before it once
    // the text has ended.
    std::vector<int32_t> ids = encode(start, end);
    while (ids.size() < want) {
      if (end < text.size()) {
        end = line_end(text, end);
      } else if (start > 0) {
        start = line_start(text, start - 1);
      } else {
        fail("{}: the whole text encodes to {} tokens, fewer than one window of {}", split.file,
             ids.size(), tokens_per_window);
      }
      ids = encode(start, end);
    }
    ids.resize(want);
    used_starts.insert(start);
    TextWindow window;
    window.byte_offset = static_cast<int64_t>(start);
    window.byte_length = static_cast<int64_t>(end - start);
    window.sha256 = sha256_hex(std::string_view(text).substr(start, end - start));
    window.ids = std::move(ids);
    windows.push_back(std::move(window));
  }
  return windows;
}

std::string_view window_text(const TextSplit& split, const TextWindow& window) {
  if (window.byte_offset < 0 || window.byte_length < 0 ||
      static_cast<uint64_t>(window.byte_offset) + static_cast<uint64_t>(window.byte_length) >
          split.text.size()) {
    fail("{}: window [{}, +{}) lies outside the text ({} bytes)", split.file, window.byte_offset,
         window.byte_length, split.text.size());
  }
  return std::string_view(split.text)
      .substr(static_cast<size_t>(window.byte_offset), static_cast<size_t>(window.byte_length));
}

nlohmann::json to_json(const TextSplit& split, const std::vector<TextWindow>& windows,
                       const std::string& purpose) {
  if (purpose != "calibration" && purpose != "training") {
    fail("{}: data_used purpose \"{}\" is neither \"calibration\" nor \"training\"", split.file,
         purpose);
  }
  require_train(split, "recording data use");
  nlohmann::json slices = nlohmann::json::array();
  for (const TextWindow& window : windows) {
    slices.push_back({{"byte_offset", window.byte_offset},
                      {"byte_length", window.byte_length},
                      {"sha256", window.sha256},
                      {"n_tokens", window.ids.size()}});
  }
  return {{"purpose", purpose},     {"dataset", split.dataset},    {"layout", split.layout},
          {"split", split.split},   {"file", split.file},          {"sha256", split.sha256},
          {"hashed", split.hashed}, {"windows", std::move(slices)}};
}

bool text_occurs_in(const std::string& needle, const std::string& haystack) {
  if (needle.empty()) return true;
  const std::boyer_moore_horspool_searcher searcher(needle.begin(), needle.end());
  return std::search(haystack.begin(), haystack.end(), searcher) != haystack.end();
}

}  // namespace tc::eval
