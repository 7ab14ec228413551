// Reading .xz files (liblzma). The bundled corpus stores its train split as
// train.txt.xz to keep the repository small; it is decompressed in memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace tc::io {

// The whole decompressed content of the .xz file at `path` (concatenated
// streams and stream padding accepted, integrity checks verified). Throws
// tc::Error naming the file when it cannot be read or is not a complete,
// intact .xz stream (corrupt, truncated, trailing garbage).
std::string read_xz_file(const std::string& path);

// Decompresses an in-memory .xz stream; `name` is used in error messages.
std::string decompress_xz(std::span<const uint8_t> compressed, const std::string& name);

}  // namespace tc::io
