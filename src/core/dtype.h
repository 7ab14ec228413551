// Element types of stored tensors and the half-precision conversions.
//
// bf16 and fp16 are kept as raw uint16_t bit patterns: the conversions here
// are exact (widening) or round-to-nearest-even (narrowing), the same as
// PyTorch's, so weights converted here match what transformers computes.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace tc {

enum class DType : uint8_t { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

// Size of one element in bytes.
size_t dtype_size(DType dtype);
// Name as written in a safetensors header ("F32", "BF16", ...).
std::string_view dtype_name(DType dtype);
// Parses a safetensors dtype name; nullopt for names we do not know.
std::optional<DType> parse_dtype(std::string_view name);

inline float bits_to_f32(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}
inline uint32_t f32_to_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

// bf16 is the top half of an fp32: widening is a shift.
inline float bf16_to_f32(uint16_t bits) { return bits_to_f32(static_cast<uint32_t>(bits) << 16); }

// Round to nearest even; NaN stays NaN (quiet bit forced so it cannot become Inf).
inline uint16_t f32_to_bf16(float value) {
  uint32_t bits = f32_to_bits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

// IEEE binary16 <-> binary32, handling subnormals, Inf and NaN.
float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);

}  // namespace tc
