// Where the tests find the shared fixtures and the built command line.
#pragma once

#include <string>

namespace tc::test {

// ../shared beside the repository: read-only fixtures and goldens.
std::string shared_dir();
// Path of a fixture model folder, e.g. fixture_model("tiny-qwen2-s").
std::string fixture_model(const std::string& name);
// Golden folder of a fixture model.
std::string golden_dir(const std::string& name);
// The built tinycompress executable (for end-to-end command tests).
std::string tinycompress_bin();
// A fresh empty temporary folder, unique per call.
std::string make_temp_dir();

}  // namespace tc::test
