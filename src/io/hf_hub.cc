#include "io/hf_hub.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace tc::io {

namespace fs = std::filesystem;

std::string hf_hub_cache_dir() {
  if (const char* cache = std::getenv("HF_HUB_CACHE"); cache != nullptr && *cache != '\0') {
    return cache;
  }
  if (const char* home = std::getenv("HF_HOME"); home != nullptr && *home != '\0') {
    return (fs::path(home) / "hub").string();
  }
  const char* user_home = std::getenv("HOME");
  return (fs::path(user_home != nullptr ? user_home : "/") / ".cache" / "huggingface" / "hub")
      .string();
}

namespace {

// "Org/Name" -> "models--Org--Name"; only ids of that shape are looked up.
bool looks_like_hub_id(const std::string& model) {
  const auto slash = model.find('/');
  return slash != std::string::npos && slash > 0 && slash + 1 < model.size() &&
         model.find('/', slash + 1) == std::string::npos && model.find("..") == std::string::npos;
}

}  // namespace

std::string resolve_model_dir(const std::string& model) {
  if (model.empty()) fail("--model is empty: give a model folder or a Hugging Face id");
  std::error_code ec;
  if (fs::is_directory(model, ec)) return model;
  if (fs::exists(model, ec)) fail("{}: is a file; --model takes a model folder", model);
  if (!looks_like_hub_id(model)) {
    fail("{}: no such model folder (and not a Hugging Face id of the form Org/Name)", model);
  }

  std::string repo_folder = "models--" + model;
  repo_folder.replace(repo_folder.find('/'), 1, "--");
  const fs::path repo = fs::path(hf_hub_cache_dir()) / repo_folder;
  const fs::path ref = repo / "refs" / "main";
  std::ifstream ref_file(ref);
  if (!ref_file) {
    fail("{}: not a local folder and not in the Hugging Face cache (looked for {}); "
         "downloads are not supported, fetch it with huggingface-cli first",
         model, ref.string());
  }
  std::string revision;
  std::getline(ref_file, revision);
  while (!revision.empty() && (revision.back() == '\n' || revision.back() == '\r' ||
                               revision.back() == ' ')) {
    revision.pop_back();
  }
  if (revision.empty()) fail("{}: {} is empty", model, ref.string());
  const fs::path snapshot = repo / "snapshots" / revision;
  if (!fs::is_directory(snapshot, ec)) {
    fail("{}: {} names revision {} but {} does not exist", model, ref.string(), revision,
         snapshot.string());
  }
  return snapshot.string();
}

}  // namespace tc::io
