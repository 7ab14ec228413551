// One layer of a KV cache as attention reads it: a format tag, the stored
// keys and values in that format, and their scales. The cache
// (model/kv_cache.h) hands these out and the attention kernels
// (attention.h) switch over the format, so a new storage format is a new
// enum value, a new cache and a new kernel, and nothing in between changes.
#pragma once

#include <cstdint>
#include <string_view>

namespace tc::kernels {

// How a KV cache stores keys and values.
//  - kF32: fp32, exactly what the layer computed.
//  - kF16: IEEE half bits (uint16_t), saturated at ±65504; half the bytes
//    decode reads per step.
enum class KvFormat : uint8_t { kF32, kF16 };

// "f32", "f16": the command-line and result-file spelling.
std::string_view kv_format_name(KvFormat format);
// The format a name spells; anything else fails, naming it and the formats.
KvFormat parse_kv_format(std::string_view name);

struct KvView {
  KvFormat format = KvFormat::kF32;
  // KV tiles (attention.h: kv_key_index, kv_value_index) holding at least
  // the positions attention reads; elements of `format` (float for kF32,
  // uint16_t half bits for kF16).
  const void* tiles = nullptr;
  // One fp16 scale per position per kv head for formats that store scaled
  // integers (none yet: null for kF32 and kF16).
  const uint16_t* scales = nullptr;
};

}  // namespace tc::kernels
