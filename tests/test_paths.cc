#include "test_paths.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

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

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tc_test_XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

}  // namespace tc::test
