// The stored weight formats and the one table that describes each of them.
//
// Everything that depends on a format reads it from its row in
// weight_format_traits(): the checkpoint loader and writer (dtype, shape and
// name of the values and scales), the reference dequantization and
// round-to-nearest quantization, sizes and the cost model. The CPU backend
// keeps its own table of the kernels each format has (kernels/cpu/matmul.cc),
// where a missing kernel means the reference path, never another format's
// kernel. docs/ARCHITECTURE.md walks through adding a format.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace tc::weights {

// Byte layouts in docs/WEIGHT_FORMATS.md.
enum class WeightFormat : uint8_t {
  kF32,
  kBF16,
  kF16,
  kQ8Row,         // int8, one fp32 scale per row; fp32 activations (weight-only)
  kQ8RowDynamic,  // the bytes of kQ8Row; the kernel also quantizes activations (W8A8)
  kQ8G128,        // int8, one fp16 scale per group of 128 inputs
  kQ4G128,        // int4 packed two per byte, one fp16 scale per group of 128 inputs
};

class WeightMatrix;

// Inputs that share one scale in the grouped formats (q8_g128, q4_g128); the
// last group of a row may be shorter.
inline constexpr int64_t kScaleGroup = 128;

struct WeightFormatTraits {
  WeightFormat format;
  // The name in quantization_config, tables, errors and --help.
  std::string_view name;
  bool quantized;              // stored as values "<name>" plus scales "<name>_scale"
  DType value_dtype;           // safetensors dtype of the values
  int bits;                    // bits per stored value (4: two values per byte)
  DType scale_dtype;           // of the scales (quantized formats only)
  int64_t group_size;          // inputs sharing one scale; 0: one scale per row
  bool quantizes_activations;  // the kernel multiplies int8 activations (W8A8)
  // Writes row r of m as fp32 into out[0, cols): the reference every kernel
  // is tested against.
  void (*dequantize_row)(const WeightMatrix& m, int64_t r, float* out);
  // Stores one fp32 row of `cols` weights as the format's values and that
  // row's scales (round to nearest: the reference quantization; dense
  // formats round each value and write no scales).
  void (*encode_row)(const float* row, int64_t cols, uint8_t* values, uint8_t* scales);
};

const WeightFormatTraits& weight_format_traits(WeightFormat format);
std::string_view weight_format_name(WeightFormat format);
// The format of a name in the table; an error listing the names otherwise.
WeightFormat weight_format_from_name(std::string_view name);

// Bytes of one stored row of `cols` values.
int64_t weight_row_bytes(WeightFormat format, int64_t cols);
// Scales per row: 0 for dense formats, 1 per row, or one per group.
int64_t weight_scales_per_row(WeightFormat format, int64_t cols);
// Bytes of one row's scales.
int64_t weight_scale_row_bytes(WeightFormat format, int64_t cols);

// Shapes of a [rows, cols] matrix's tensors in a checkpoint: the values
// (in value_dtype: [rows, cols], or [rows, bytes per row] for int4) and the
// scales (quantized formats: [rows] per row, [rows, groups] per group).
std::vector<int64_t> stored_value_shape(WeightFormat format, int64_t rows, int64_t cols);
std::vector<int64_t> stored_scale_shape(WeightFormat format, int64_t rows, int64_t cols);

}  // namespace tc::weights
