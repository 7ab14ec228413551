#include "kv/kv_layout.h"

#include "core/error.h"

namespace tc::kv {

namespace {
constexpr KvFormat kKvFormats[] = {KvFormat::kF32, KvFormat::kF16, KvFormat::kI8};
}  // namespace

std::string_view kv_format_name(KvFormat format) {
  switch (format) {
    case KvFormat::kF32:
      return "f32";
    case KvFormat::kF16:
      return "f16";
    case KvFormat::kI8:
      return "int8";
  }
  fail("KV cache format {} has no name", static_cast<int>(format));
}

KvFormat parse_kv_format(std::string_view name) {
  std::string known;
  for (const KvFormat format : kKvFormats) {
    if (name == kv_format_name(format)) return format;
    if (!known.empty()) known += ", ";
    known += kv_format_name(format);
  }
  fail("unknown KV cache format '{}' (known: {})", name, known);
}

}  // namespace tc::kv
