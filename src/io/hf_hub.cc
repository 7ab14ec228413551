#include "io/hf_hub.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "core/error.h"

namespace tc::io {

namespace fs = std::filesystem;

namespace {

// A set, non-empty environment variable, or nullptr.
const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// "~/x" -> "$HOME/x", as huggingface_hub's expanduser does.
std::string expand_home(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    if (const char* home = env("HOME")) return std::string(home) + path.substr(1);
  }
  return path;
}

// The cache folder and what chose it, in huggingface_hub's order:
// HF_HUB_CACHE (or its old name HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::pair<std::string, std::string> hub_cache_and_source() {
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"}) {
    if (const char* cache = env(name)) return {expand_home(cache), name};
  }
  if (const char* home = env("HF_HOME")) {
    return {(fs::path(expand_home(home)) / "hub").string(), "HF_HOME"};
  }
  if (const char* xdg = env("XDG_CACHE_HOME")) {
    return {(fs::path(expand_home(xdg)) / "huggingface" / "hub").string(), "XDG_CACHE_HOME"};
  }
  const char* user_home = env("HOME");
  return {(fs::path(user_home != nullptr ? user_home : "/") / ".cache" / "huggingface" / "hub")
              .string(),
          "the default, ~/.cache/huggingface/hub"};
}

// "Org/Name": two non-empty parts, nothing that could climb out of the cache.
bool looks_like_hub_id(const std::string& model) {
  const auto slash = model.find('/');
  return slash != std::string::npos && slash > 0 && slash + 1 < model.size() &&
         model.find('/', slash + 1) == std::string::npos && model.find("..") == std::string::npos &&
         model.find('\\') == std::string::npos;
}

}  // namespace

std::string hf_hub_cache_dir() { return hub_cache_and_source().first; }

std::string resolve_model_dir(const std::string& model) {
  if (model.empty()) fail("--model is empty: give a model folder or a Hugging Face id");
  std::error_code ec;
  if (fs::is_directory(model, ec)) return model;
  if (fs::exists(model, ec)) fail("{}: is a file; --model takes a model folder", model);
  if (!looks_like_hub_id(model)) {
    fail("{}: no such model folder (and not a Hugging Face id of the form Org/Name)", model);
  }

  const auto [cache, source] = hub_cache_and_source();
  std::string repo_folder = "models--" + model;
  repo_folder.replace(repo_folder.find('/'), 1, "--");
  const fs::path repo = fs::path(cache) / repo_folder;
  const fs::path ref = repo / "refs" / "main";
  std::ifstream ref_file(ref);
  if (!ref_file) {
    fail(
        "{}: not a local folder and not in the Hugging Face cache (looked for {}; cache folder "
        "from {}); downloads are not supported, fetch it with huggingface-cli first",
        model, ref.string(), source);
  }
  std::string revision;
  std::getline(ref_file, revision);
  while (!revision.empty() &&
         (revision.back() == '\n' || revision.back() == '\r' || revision.back() == ' ')) {
    revision.pop_back();
  }
  if (revision.empty()) fail("{}: {} is empty", model, ref.string());
  // A revision is a commit hash; anything path-like would leave the snapshots folder.
  if (revision.find('/') != std::string::npos || revision == "." || revision == "..") {
    fail("{}: {} holds '{}', which is not a revision", model, ref.string(), revision);
  }
  const fs::path snapshot = repo / "snapshots" / revision;
  if (!fs::is_directory(snapshot, ec)) {
    fail("{}: {} names revision {} but {} does not exist", model, ref.string(), revision,
         snapshot.string());
  }
  return snapshot.string();
}

}  // namespace tc::io
