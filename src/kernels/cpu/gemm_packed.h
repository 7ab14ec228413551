// The prefill GEMM, one family for every stored weight format:
// Y[n, rows] = X[n, cols] · Wᵀ, with W read as stored (weight_matrix.h) and
// each 16 inputs of a row widened to fp32 (and dequantized) in registers by
// the format's load, the one piece of the family that differs per format.
//
// Two loops share that load, chosen per block of tokens:
// - kPackFromTokens tokens or more: the weights are read in panels of
//   kPanelRows rows × 128 inputs, transposed into a k-major fp32 scratch
//   panel that stays in L1; a register tile of up to 6 tokens × kPanelRows
//   rows then accumulates outer products: per input k, four vector loads
//   from the panel, one broadcast of x per token and 4 · tokens FMAs. No
//   horizontal sums are needed at the end, so small reduction lengths
//   (hidden 128 to 320 in the fixture models) cost no more per FMA than
//   large ones. The panel is packed once per block of up to kTokenBlock
//   tokens, which amortizes the packing over every token of it.
// - fewer tokens: packing a panel costs more than the FMAs it feeds, so one
//   register tile of every token × 3 to 6 rows takes dot products over
//   blocks of 512 inputs and sums across lanes at the end of each, walking
//   its rows from the first input to the last: each weight is loaded once
//   and the weights stream from memory in order, as in decode (so a
//   speculative verify pass of 5 tokens reads them once). Dense formats are
//   read in place; a quantized one is dequantized once per block into an
//   fp32 scratch the tile reads.
#pragma once

#include <cstdint>

#include "weights/weight_format.h"

namespace tc::kernels {

inline constexpr int64_t kPanelRows = 64;
inline constexpr int64_t kTokenBlock = 256;
// From this many tokens of a block on, the weights are packed into panels:
// packing a panel costs about as much as a few tokens' worth of FMAs on it.
inline constexpr int64_t kPackFromTokens = 8;

// The weight matrix as stored (see weight_matrix.h for the layouts): values
// [rows, cols] (kQ4G128: two per byte, (cols+1)/2 bytes per row) and scales
// (kQ8Row: fp32 per row; kQ8G128 and kQ4G128: fp16 per row and group of 128).
struct PackedSource {
  weights::WeightFormat format;
  const void* values;
  const void* scales;
  int64_t rows;
  int64_t cols;
};

// The panel the calling thread multiplies after this call: the first rows
// of `source` from `row` (source null: none or unknown). The call's last
// packed block prefetches that panel's first block, as every other block
// prefetches its successor, so a thread that runs panel after panel never
// packs from cold memory. A source of another format than the call's is not
// prefetched.
struct PackedNext {
  const PackedSource* source;
  int64_t row;
};

namespace avx512 {

// Computes Y for weight rows [row_begin, row_end) and tokens
// [token_begin, token_end) single-threaded; the caller splits panels and
// token blocks across threads. x: [n, cols]; y: [n, rows]. Instantiated for
// every format except kQ8RowDynamic (whose kernels quantize x, q8_dynamic.h);
// w.format must be F. Call only when cpu_has_avx512().
template <weights::WeightFormat F>
void gemm_packed(const PackedSource& w, const float* x, float* y, int64_t row_begin,
                 int64_t row_end, int64_t token_begin, int64_t token_end, const PackedNext& next);

}  // namespace avx512

// One format's instantiation, as the CPU kernel table (matmul.cc) holds it.
using GemmFn = void (*)(const PackedSource& w, const float* x, float* y, int64_t row_begin,
                        int64_t row_end, int64_t token_begin, int64_t token_end,
                        const PackedNext& next);

}  // namespace tc::kernels
