// Errors with context. Every failure a user can cause (bad file, bad flag,
// bad tensor) is reported as a tc::Error whose message names the file, the
// tensor or the field and says what was expected; the command line prints it
// on one line and exits non-zero.
#pragma once

#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace tc {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws tc::Error with a fmt::format message (libstdc++ 12 has no std::format).
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> message_format, Args&&... args) {
  throw Error(fmt::format(message_format, std::forward<Args>(args)...));
}

// Returns "path: message" so errors always name the file they came from.
std::string with_path(const std::string& path, const std::string& message);

}  // namespace tc
