// Atomic file writes: write to a temporary file beside the target, fsync,
// rename over the target, fsync the folder. A reader sees the old file or
// the whole new one, never half of it, even if the process is killed.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace tc::io {

void write_file_atomic(const std::string& path, std::span<const std::span<const uint8_t>> parts);
void write_file_atomic(const std::string& path, std::string_view content);

}  // namespace tc::io
