#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace tc::io {

namespace {

void write_all(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("{}: write failed: {}", path, std::strerror(errno));
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, std::span<const std::span<const uint8_t>> parts) {
  const std::filesystem::path target(path);
  const std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  // Hidden temporary name beside the target, so the rename stays on one file system.
  std::string temp_name = target.filename().string();
  temp_name.insert(0, 1, '.');
  temp_name.append(".tmp.XXXXXX");
  std::string temp = (folder / temp_name).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) fail("{}: cannot create temporary file: {}", path, std::strerror(errno));
  try {
    for (const auto& part : parts) write_all(fd, part.data(), part.size(), temp);
    if (::fsync(fd) != 0) fail("{}: fsync failed: {}", temp, std::strerror(errno));
    if (::fchmod(fd, 0644) != 0) fail("{}: chmod failed: {}", temp, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    fail("{}: rename from {} failed: {}", path, temp, std::strerror(saved));
  }
  // Make the rename itself durable.
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_file_atomic(const std::string& path, std::string_view content) {
  const std::span<const uint8_t> part(reinterpret_cast<const uint8_t*>(content.data()),
                                      content.size());
  write_file_atomic(path, std::span<const std::span<const uint8_t>>(&part, 1));
}

}  // namespace tc::io
