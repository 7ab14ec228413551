// Resolving --model through a local Hugging Face cache laid out as
// huggingface_hub lays it out (refs/main -> snapshots/<rev>/ whose files are
// symlinks into blobs/), and the cache folder's environment precedence.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include "core/error.h"
#include "io/hf_hub.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

namespace fs = std::filesystem;

const char* const kVariables[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME",
                                  "XDG_CACHE_HOME", "HOME"};

// Saves the cache-related environment, clears it, and restores it after the
// test, so neither the machine's settings nor another test leak in.
class HfHub : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::make_temp_dir();
    for (const char* name : kVariables) {
      const char* value = std::getenv(name);
      saved_.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
      ::unsetenv(name);
    }
    // HOME points into the temporary folder: the default cache is never the real one.
    ::setenv("HOME", (root_ + "/home").c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Puts tiny-qwen2-s into `cache` as repo `id` at `revision`, the way
  // huggingface_hub does: content in blobs/, symlinks in snapshots/<rev>/.
  std::string add_to_cache(const std::string& cache, const std::string& id,
                           const std::string& revision) {
    std::string folder = "models--" + id;
    folder.replace(folder.find('/'), 1, "--");
    const fs::path repo = fs::path(cache) / folder;
    const fs::path snapshot = repo / "snapshots" / revision;
    fs::create_directories(repo / "refs");
    fs::create_directories(repo / "blobs");
    fs::create_directories(snapshot);
    int blob = 0;
    for (const auto& entry : fs::directory_iterator(test::fixture_model("tiny-qwen2-s"))) {
      const std::string blob_name = revision + "-blob" + std::to_string(blob++);
      fs::copy_file(entry.path(), repo / "blobs" / blob_name);
      fs::create_symlink(fs::path("../../blobs") / blob_name, snapshot / entry.path().filename());
    }
    std::ofstream(repo / "refs" / "main") << revision;  // no newline, as huggingface_hub writes it
    return snapshot.string();
  }

  std::string root_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no tc::Error was thrown";
  return "";
}

TEST_F(HfHub, ResolvesAnIdToItsSnapshotAndLoads) {
  const std::string cache = root_ + "/cache";
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  const std::string snapshot = add_to_cache(cache, "Org/Name", "0123abcd");
  EXPECT_EQ(io::hf_hub_cache_dir(), cache);
  EXPECT_EQ(io::resolve_model_dir("Org/Name"), snapshot);
  EXPECT_EQ(snapshot, cache + "/models--Org--Name/snapshots/0123abcd");

  const model::Qwen2Model model = model::load_qwen2(io::resolve_model_dir("Org/Name"));
  EXPECT_EQ(model.config().hidden_size, 128);
  EXPECT_EQ(model.config().num_layers, 4);
}

TEST_F(HfHub, RefsMainMayEndWithANewline) {
  const std::string cache = root_ + "/cache";
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  const std::string snapshot = add_to_cache(cache, "Org/Name", "feed");
  std::ofstream(cache + "/models--Org--Name/refs/main") << "feed\n";
  EXPECT_EQ(io::resolve_model_dir("Org/Name"), snapshot);
}

TEST_F(HfHub, CacheFolderPrecedence) {
  const std::string hub_cache = root_ + "/hub-cache";
  const std::string hf_home = root_ + "/hf-home";
  const std::string xdg = root_ + "/xdg";
  const std::string home = root_ + "/home";
  const std::string from_hub_cache = add_to_cache(hub_cache, "Org/Name", "aaaa");
  const std::string from_hf_home = add_to_cache(hf_home + "/hub", "Org/Name", "bbbb");
  const std::string from_xdg = add_to_cache(xdg + "/huggingface/hub", "Org/Name", "cccc");
  const std::string from_home = add_to_cache(home + "/.cache/huggingface/hub", "Org/Name", "dddd");

  ::setenv("HF_HUB_CACHE", hub_cache.c_str(), 1);
  ::setenv("HF_HOME", hf_home.c_str(), 1);
  ::setenv("XDG_CACHE_HOME", xdg.c_str(), 1);
  EXPECT_EQ(io::hf_hub_cache_dir(), hub_cache);
  EXPECT_EQ(io::resolve_model_dir("Org/Name"), from_hub_cache);

  ::unsetenv("HF_HUB_CACHE");
  EXPECT_EQ(io::hf_hub_cache_dir(), hf_home + "/hub");
  EXPECT_EQ(io::resolve_model_dir("Org/Name"), from_hf_home);

  ::unsetenv("HF_HOME");
  EXPECT_EQ(io::hf_hub_cache_dir(), xdg + "/huggingface/hub");
  EXPECT_EQ(io::resolve_model_dir("Org/Name"), from_xdg);

  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(io::hf_hub_cache_dir(), home + "/.cache/huggingface/hub");
  EXPECT_EQ(io::resolve_model_dir("Org/Name"), from_home);

  // The older name of HF_HUB_CACHE still counts, below the new one.
  ::setenv("HUGGINGFACE_HUB_CACHE", hub_cache.c_str(), 1);
  EXPECT_EQ(io::resolve_model_dir("Org/Name"), from_hub_cache);
  // An empty variable counts as unset, as in huggingface_hub.
  ::setenv("HF_HUB_CACHE", "", 1);
  EXPECT_EQ(io::hf_hub_cache_dir(), hub_cache);
  // "~" in HF_HOME is the home folder.
  ::unsetenv("HUGGINGFACE_HUB_CACHE");
  ::setenv("HF_HOME", "~/.cache/huggingface", 1);
  EXPECT_EQ(io::resolve_model_dir("Org/Name"), from_home);
}

TEST_F(HfHub, MissingIdSaysWhereItLooked) {
  const std::string cache = root_ + "/cache";
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  add_to_cache(cache, "Org/Name", "0123");
  const std::string message = error_of([] { io::resolve_model_dir("Org/Other"); });
  EXPECT_NE(message.find("Org/Other: not a local folder and not in the Hugging Face cache"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(cache + "/models--Org--Other/refs/main"), std::string::npos) << message;
  EXPECT_NE(message.find("HF_HUB_CACHE"), std::string::npos) << message;

  ::unsetenv("HF_HUB_CACHE");
  const std::string by_default = error_of([] { io::resolve_model_dir("Org/Other"); });
  EXPECT_NE(by_default.find(root_ + "/home/.cache/huggingface/hub/models--Org--Other/refs/main"),
            std::string::npos)
      << by_default;
}

TEST_F(HfHub, BrokenCacheEntries) {
  const std::string cache = root_ + "/cache";
  ::setenv("HF_HUB_CACHE", cache.c_str(), 1);
  add_to_cache(cache, "Org/Name", "0123");
  const std::string ref = cache + "/models--Org--Name/refs/main";

  std::ofstream(ref) << "4567";
  std::string message = error_of([] { io::resolve_model_dir("Org/Name"); });
  EXPECT_NE(message.find("names revision 4567 but " + cache +
                         "/models--Org--Name/snapshots/4567 does not exist"),
            std::string::npos)
      << message;

  std::ofstream(ref) << "";
  message = error_of([] { io::resolve_model_dir("Org/Name"); });
  EXPECT_NE(message.find(ref + " is empty"), std::string::npos) << message;

  std::ofstream(ref) << "../../x";
  message = error_of([] { io::resolve_model_dir("Org/Name"); });
  EXPECT_NE(message.find("which is not a revision"), std::string::npos) << message;
}

TEST_F(HfHub, LocalPathsAndNonIds) {
  const std::string folder = root_ + "/local";
  fs::create_directories(folder);
  EXPECT_EQ(io::resolve_model_dir(folder), folder);

  std::ofstream(root_ + "/file.txt") << "x";
  EXPECT_NE(error_of([&] { io::resolve_model_dir(root_ + "/file.txt"); }).find("is a file"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::resolve_model_dir("../Org/Name"); }).find("no such model folder"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::resolve_model_dir("Org/.."); }).find("no such model folder"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::resolve_model_dir("a/b/c"); }).find("no such model folder"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::resolve_model_dir(""); }).find("--model is empty"),
            std::string::npos);
}

}  // namespace
}  // namespace tc
