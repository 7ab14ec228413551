#include "test_paths.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace tc::test {

std::string shared_dir() {
  if (const char* env = std::getenv("TC_SHARED_DIR")) return env;
  return TC_SHARED_DIR;
}

std::string fixture_model(const std::string& name) {
  return shared_dir() + "/fixtures/models/" + name;
}

std::string golden_dir(const std::string& name) {
  return shared_dir() + "/fixtures/golden/" + name;
}

std::string tinycompress_bin() { return TC_TINYCOMPRESS_BIN; }

namespace {

// Removes every folder make_temp_dir handed out when the test program ends.
class TempDirs {
 public:
  ~TempDirs() {
    for (const auto& dir : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
  void add(const std::string& dir) {
    std::lock_guard<std::mutex> lock(mutex_);
    dirs_.push_back(dir);
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> dirs_;
};

TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}

}  // namespace

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tc_test_XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  temp_dirs().add(pattern);
  return pattern;
}

}  // namespace tc::test
