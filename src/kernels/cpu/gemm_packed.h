// Prefill GEMM with packed weight panels: Y[n, rows] = X[n, cols] · Wᵀ for
// every stored weight format.
//
// The weights are read in panels of kPanelRows rows × kPanelK inputs, widened
// to fp32 (and dequantized) and transposed into a k-major scratch panel that
// stays in L1; a register tile of up to kTileTokens tokens × kPanelRows rows
// then accumulates outer products: per input k, four vector loads from the
// panel, one broadcast of x per token and 4 · tokens FMAs. Unlike a
// dot-product tile, no horizontal sums are needed at the end, so small
// reduction lengths (hidden 128 to 320 in the fixture models) cost no more
// per FMA than large ones. The panel is packed once per block of up to
// kTokenBlock tokens, which amortizes the packing over every token of it.
#pragma once

#include <cstdint>

namespace tc::kernels {

inline constexpr int64_t kPanelRows = 64;
inline constexpr int64_t kTokenBlock = 256;

enum class PackedFormat : uint8_t { kF32, kBF16, kF16, kQ8Row, kQ8G128, kQ4G128 };

// The weight matrix as stored (see weight_matrix.h for the layouts): values
// [rows, cols] (kQ4G128: two per byte, (cols+1)/2 bytes per row) and scales
// (kQ8Row: fp32 per row; kQ8G128 and kQ4G128: fp16 per row and group of 128).
struct PackedSource {
  PackedFormat format;
  const void* values;
  const void* scales;
  int64_t rows;
  int64_t cols;
};

// The panel the calling thread multiplies after this call: the first rows
// of `source` from `row` (source null: none or unknown). The call's last
// block prefetches that panel's first block, as every other block prefetches
// its successor, so a thread that runs panel after panel never packs from
// cold memory. A source of another format than the call's is not prefetched.
struct PackedNext {
  const PackedSource* source;
  int64_t row;
};

namespace avx512 {

// Computes Y for weight rows [row_begin, row_end) and tokens
// [token_begin, token_end) single-threaded; the caller splits panels and
// token blocks across threads. x: [n, cols]; y: [n, rows].
// Call only when cpu_has_avx512().
void gemm_packed(const PackedSource& w, const float* x, float* y, int64_t row_begin,
                 int64_t row_end, int64_t token_begin, int64_t token_end, const PackedNext& next);

}  // namespace avx512

}  // namespace tc::kernels
