// libFuzzer target: arbitrary bytes as a whole safetensors file. The parser
// must either return a header whose every tensor lies inside the data, or
// throw tc::Error; any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/dtype.h"
#include "core/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tc::io::ParsedHeader header =
        tc::io::parse_safetensors_header(std::span<const uint8_t>(data, size), "fuzz");
    // What the parser promises its callers: offsets inside the file, byte
    // counts that match the shapes. Check them, so a wrong "valid" answer is
    // a finding too.
    const size_t data_size = size - header.data_offset;
    for (const auto& entry : header.entries) {
      size_t numel = 1;
      for (const int64_t dim : entry.shape) numel *= static_cast<size_t>(dim);
      if (entry.begin > entry.end || entry.end > data_size ||
          entry.end - entry.begin != numel * tc::dtype_size(entry.dtype)) {
        std::abort();
      }
    }
  } catch (const tc::Error&) {
    // Expected for malformed input.
  }
  return 0;
}
