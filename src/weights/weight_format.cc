#include "weights/weight_format.h"

#include <array>
#include <cstring>
#include <string>

#include "core/error.h"
#include "weights/quant_rules.h"
#include "weights/weight_matrix.h"

namespace tc::weights {

namespace {

// ---- The reference codecs, one pair per format (layouts: docs/WEIGHT_FORMATS.md).

void f32_decode(const WeightMatrix& m, int64_t r, float* out) {
  std::memcpy(out, m.f32() + r * m.cols, static_cast<size_t>(m.cols) * sizeof(float));
}
void f32_encode(const float* row, int64_t cols, uint8_t* values, uint8_t*) {
  std::memcpy(values, row, static_cast<size_t>(cols) * sizeof(float));
}

// bf16 and f16: one uint16_t of half bits per weight, through the
// conversions of core/dtype.h (round to nearest even when encoding).
template <float (*Widen)(uint16_t)>
void half_decode(const WeightMatrix& m, int64_t r, float* out) {
  const uint16_t* row = m.u16() + r * m.cols;
  for (int64_t c = 0; c < m.cols; ++c) out[c] = Widen(row[c]);
}
template <uint16_t (*Narrow)(float)>
void half_encode(const float* row, int64_t cols, uint8_t* values, uint8_t*) {
  for (int64_t c = 0; c < cols; ++c) {
    const uint16_t bits = Narrow(row[c]);
    std::memcpy(values + 2 * c, &bits, 2);
  }
}

// int8 [cols] per row; one fp32 scale per row.
void q8_row_decode(const WeightMatrix& m, int64_t r, float* out) {
  const int8_t* q = m.i8() + r * m.cols;
  const float scale = m.row_scales()[r];
  for (int64_t c = 0; c < m.cols; ++c) out[c] = scale * static_cast<float>(q[c]);
}
void q8_row_encode(const float* row, int64_t cols, uint8_t* values, uint8_t* scales) {
  const float scale = q8_scale(row, cols);
  std::memcpy(scales, &scale, sizeof(scale));
  for (int64_t c = 0; c < cols; ++c)
    values[c] = static_cast<uint8_t>(static_cast<int8_t>(q8_quantize_value(row[c], scale)));
}

// int8 [cols] per row; one fp16 scale per group of 128 inputs (the last
// group of a row may be shorter).
void q8_g128_decode(const WeightMatrix& m, int64_t r, float* out) {
  const int8_t* q = m.i8() + r * m.cols;
  const uint16_t* scales = m.group_scales() + r * m.scales_per_row();
  for (int64_t c = 0; c < m.cols; ++c)
    out[c] = f16_to_f32(scales[c / kScaleGroup]) * static_cast<float>(q[c]);
}
void q8_g128_encode(const float* row, int64_t cols, uint8_t* values, uint8_t* scales) {
  for (int64_t begin = 0; begin < cols; begin += kScaleGroup) {
    const int64_t end = std::min(cols, begin + kScaleGroup);
    const uint16_t bits = f32_to_f16(q8_scale(row + begin, end - begin));
    std::memcpy(scales + 2 * (begin / kScaleGroup), &bits, 2);
    const float scale = f16_to_f32(bits);
    for (int64_t c = begin; c < end; ++c)
      values[c] = static_cast<uint8_t>(static_cast<int8_t>(q8_quantize_value(row[c], scale)));
  }
}

// Two int4 per byte (element c in byte c / 2, low nibble for even c), each
// stored as q + 8; one fp16 scale per group of 128 inputs.
void q4_g128_decode(const WeightMatrix& m, int64_t r, float* out) {
  const uint8_t* row = m.storage.data() + r * m.row_bytes();
  const uint16_t* scales = m.group_scales() + r * m.scales_per_row();
  for (int64_t c = 0; c < m.cols; ++c) {
    const int nibble = (c % 2 == 0) ? (row[c / 2] & 0x0f) : (row[c / 2] >> 4);
    out[c] = f16_to_f32(scales[c / kScaleGroup]) * static_cast<float>(nibble - 8);
  }
}
void q4_g128_encode(const float* row, int64_t cols, uint8_t* values, uint8_t* scales) {
  std::memset(values, 0,
              static_cast<size_t>((cols + 1) / 2));  // an odd row's last high nibble is 0
  for (int64_t begin = 0; begin < cols; begin += kScaleGroup) {
    const int64_t end = std::min(cols, begin + kScaleGroup);
    const uint16_t bits = q4_group_scale(row + begin, end - begin);
    std::memcpy(scales + 2 * (begin / kScaleGroup), &bits, 2);
    const float scale = f16_to_f32(bits);
    for (int64_t c = begin; c < end; ++c) {
      const auto nibble = static_cast<uint8_t>(q4_quantize_value(row[c], scale) + 8);
      values[c / 2] |= static_cast<uint8_t>((c % 2 == 0) ? nibble : nibble << 4);
    }
  }
}

// ---- The table: one row per format, in enum order.
constexpr std::array<WeightFormatTraits, 7> kTraits{{
    {WeightFormat::kF32, "f32", false, DType::kF32, 32, DType::kF32, 0, false, f32_decode,
     f32_encode},
    {WeightFormat::kBF16, "bf16", false, DType::kBF16, 16, DType::kF32, 0, false,
     half_decode<bf16_to_f32>, half_encode<f32_to_bf16>},
    {WeightFormat::kF16, "f16", false, DType::kF16, 16, DType::kF32, 0, false,
     half_decode<f16_to_f32>, half_encode<f32_to_f16>},
    {WeightFormat::kQ8Row, "q8_row", true, DType::kI8, 8, DType::kF32, 0, false, q8_row_decode,
     q8_row_encode},
    {WeightFormat::kQ8RowDynamic, "q8_row_dynamic", true, DType::kI8, 8, DType::kF32, 0, true,
     q8_row_decode, q8_row_encode},
    {WeightFormat::kQ8G128, "q8_g128", true, DType::kI8, 8, DType::kF16, kScaleGroup, false,
     q8_g128_decode, q8_g128_encode},
    {WeightFormat::kQ4G128, "q4_g128", true, DType::kU8, 4, DType::kF16, kScaleGroup, false,
     q4_g128_decode, q4_g128_encode},
}};

constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < kTraits.size(); ++i)
    if (static_cast<size_t>(kTraits[i].format) != i) return false;
  return true;
}
static_assert(table_in_enum_order(), "kTraits must list the formats in enum order");

}  // namespace

const WeightFormatTraits& weight_format_traits(WeightFormat format) {
  const auto index = static_cast<size_t>(format);
  if (index >= kTraits.size()) fail("weight format {} is not in the format table", index);
  return kTraits[index];
}

std::string_view weight_format_name(WeightFormat format) {
  return weight_format_traits(format).name;
}

WeightFormat weight_format_from_name(std::string_view name) {
  std::string known;
  for (const WeightFormatTraits& traits : kTraits) {
    if (traits.name == name) return traits.format;
    known += (known.empty() ? "" : ", ") + std::string(traits.name);
  }
  fail("unknown weight format '{}' (known: {})", name, known);
}

int64_t weight_row_bytes(WeightFormat format, int64_t cols) {
  return (cols * weight_format_traits(format).bits + 7) / 8;
}

int64_t weight_scales_per_row(WeightFormat format, int64_t cols) {
  const WeightFormatTraits& traits = weight_format_traits(format);
  if (!traits.quantized) return 0;
  if (traits.group_size == 0) return 1;
  return (cols + traits.group_size - 1) / traits.group_size;
}

int64_t weight_scale_row_bytes(WeightFormat format, int64_t cols) {
  return weight_scales_per_row(format, cols) *
         static_cast<int64_t>(dtype_size(weight_format_traits(format).scale_dtype));
}

std::vector<int64_t> stored_value_shape(WeightFormat format, int64_t rows, int64_t cols) {
  const WeightFormatTraits& traits = weight_format_traits(format);
  if (traits.bits >= 8) return {rows, cols};
  return {rows,
          weight_row_bytes(format, cols) / static_cast<int64_t>(dtype_size(traits.value_dtype))};
}

std::vector<int64_t> stored_scale_shape(WeightFormat format, int64_t rows, int64_t cols) {
  const WeightFormatTraits& traits = weight_format_traits(format);
  if (!traits.quantized) return {};
  if (traits.group_size == 0) return {rows};
  return {rows, weight_scales_per_row(format, cols)};
}

}  // namespace tc::weights
