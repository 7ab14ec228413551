#include "core/error.h"

namespace tc {

std::string with_path(const std::string& path, const std::string& message) {
  return path + ": " + message;
}

}  // namespace tc
