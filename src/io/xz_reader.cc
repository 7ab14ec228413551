#include "io/xz_reader.h"

#include <lzma.h>

#include <algorithm>

#include "core/error.h"
#include "core/mapped_file.h"

namespace tc::io {

namespace {

const char* describe(lzma_ret code) {
  switch (code) {
    case LZMA_MEM_ERROR:
      return "out of memory";
    case LZMA_MEMLIMIT_ERROR:
      return "memory limit reached";
    case LZMA_FORMAT_ERROR:
      return "not in .xz format";
    case LZMA_OPTIONS_ERROR:
      return "unsupported compression options";
    case LZMA_DATA_ERROR:
      return "compressed data is corrupt";
    case LZMA_BUF_ERROR:
      return "compressed data is truncated";
    case LZMA_UNSUPPORTED_CHECK:
      return "unsupported integrity check";
    default:
      return "liblzma error";
  }
}

// Owns the decoder state so every exit path frees it.
struct Decoder {
  lzma_stream stream = LZMA_STREAM_INIT;
  ~Decoder() { lzma_end(&stream); }
};

}  // namespace

std::string decompress_xz(std::span<const uint8_t> compressed, const std::string& name) {
  Decoder decoder;
  // LZMA_CONCATENATED: what `xz -d` accepts (several streams, padding), and it
  // makes the decoder demand the end of input, so a file cut at a stream
  // boundary or followed by garbage is an error rather than silently short.
  const lzma_ret init = lzma_stream_decoder(&decoder.stream, UINT64_MAX, LZMA_CONCATENATED);
  if (init != LZMA_OK) fail("{}: cannot start the xz decoder: {}", name, describe(init));

  decoder.stream.next_in = compressed.data();
  decoder.stream.avail_in = compressed.size();
  // Text compresses about 4:1; start there and double, so large files take
  // few reallocations.
  std::string out;
  out.resize(std::max<size_t>(compressed.size() * 4, 1 << 16));
  size_t produced = 0;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    decoder.stream.next_out = reinterpret_cast<uint8_t*>(out.data()) + produced;
    decoder.stream.avail_out = out.size() - produced;
    const lzma_ret code = lzma_code(&decoder.stream, LZMA_FINISH);
    produced = out.size() - decoder.stream.avail_out;
    if (code == LZMA_STREAM_END) break;
    if (code == LZMA_OK) continue;
    // LZMA_BUF_ERROR with output room left means the input ran out early.
    fail("{}: invalid .xz data at compressed byte {} of {}: {}", name,
         compressed.size() - decoder.stream.avail_in, compressed.size(), describe(code));
  }
  out.resize(produced);
  return out;
}

std::string read_xz_file(const std::string& path) {
  const MappedFile file(path);
  if (file.size() == 0) fail("{}: empty file, not an .xz stream", path);
  return decompress_xz(file.bytes(), path);
}

}  // namespace tc::io
