// AVX-512 VNNI row kernel of the W8A8 matmul (see q8_dynamic.h), in an
// AVX-512 region (core/isa_region.h); the functions that use VNNI are marked
// TC_ISA_VNNI. Entered only after a run-time check for AVX-512 VNNI.
// GCC 12's AVX-512 headers build "undefined" vectors by self-initialisation,
// which -Wuninitialized reports at every inlined intrinsic (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "core/isa_region.h"
#include "kernels/cpu/avx512_common.h"
#include "kernels/cpu/gemv_prefetch.h"
#include "kernels/cpu/q8_dynamic_kernels.h"

TC_ISA_AVX512_BEGIN
namespace tc::kernels::avx512 {

namespace {

constexpr int kRows = 4;    // weight rows per register tile
constexpr int kTokens = 4;  // tokens per register tile (16 accumulators + 8 row vectors)

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

inline int32_t horizontal_sum(__m512i v) {
  __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// sums[i][j] = Σ_c w_rows[i][c] · x_rows[j][c] for kRows rows × T tokens.
// vpdpbusd multiplies unsigned by signed bytes (sums of four into int32, no
// saturation), so the activation goes in shifted to unsigned, qx + 128 (an
// XOR with 0x80), and the weight stays signed: Σ (qx + 128)·w = Σ qx·w +
// 128·Σ w, and Σ w comes from one more vpdpbusd per row with a vector of
// ones. That is one instruction per 64 products plus one per row, where
// moving the sign onto the activation would cost three more per product
// vector. The int32 sums may wrap for very long rows, but the difference
// below is taken modulo 2^32 and the true result fits in int32, so it is
// exact. One loop body with masked loads covers the tail (masked weight
// lanes are zero, so whatever the activation holds there adds nothing). The
// unroll pragmas make GCC unroll early enough to keep the arrays in registers.
template <int T>
TC_ISA_VNNI inline void dot_block(const int8_t* const* w_rows, const int8_t* const* x_rows,
                                  int64_t cols, int32_t (*sums)[kTokens]) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i ones = _mm512_set1_epi8(1);
  // Each row's stream is prefetched 1 KiB ahead, continuing past the row's
  // end into the same row of the next block: the four rows are four
  // interleaved streams the hardware prefetchers alone do not keep ahead of.
  // Rows shorter than that are prefetched at the same offset as many blocks
  // ahead as make up 1 KiB of their stream. (With several tokens per weight
  // load this kernel is not bound by memory; one token takes dot_row.)
  constexpr int64_t kLead = 1024;
  const int64_t short_row_ahead = (kLead + cols - 1) / cols * kRows * cols;
  __m512i acc[kRows][T];
  __m512i weight_sum[kRows];
#pragma GCC unroll 4
  for (int i = 0; i < kRows; ++i) {
    weight_sum[i] = zero;
#pragma GCC unroll 4
    for (int j = 0; j < T; ++j) acc[i][j] = zero;
  }
  for (int64_t k = 0; k < cols; k += 64) {
    const __mmask64 mask = cols - k >= 64 ? ~__mmask64{0} : (__mmask64{1} << (cols - k)) - 1;
    __m512i wv[kRows];
#pragma GCC unroll 4
    for (int i = 0; i < kRows; ++i) {
      const int64_t target = k + kLead;
      _mm_prefetch(reinterpret_cast<const char*>(cols < kLead ? w_rows[i] + k + short_row_ahead
                                                 : target < cols
                                                     ? w_rows[i] + target
                                                     : w_rows[i] + kRows * cols + (target - cols)),
                   _MM_HINT_T0);
      wv[i] = _mm512_maskz_loadu_epi8(mask, w_rows[i] + k);
      weight_sum[i] = _mm512_dpbusd_epi32(weight_sum[i], ones, wv[i]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < T; ++j) {
      const __m512i xu = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, x_rows[j] + k), flip);
#pragma GCC unroll 4
      for (int i = 0; i < kRows; ++i) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xu, wv[i]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < kRows; ++i) {
    const uint32_t shift = 128u * static_cast<uint32_t>(horizontal_sum(weight_sum[i]));
#pragma GCC unroll 4
    for (int j = 0; j < T; ++j) {
      sums[i][j] = static_cast<int32_t>(static_cast<uint32_t>(horizontal_sum(acc[i][j])) - shift);
    }
  }
}

// ---- one token (decode) ---------------------------------------------------------
// Rows are read one after the other in address order with a prefetch ahead
// (see gemv_prefetch.h). Per 64 inputs a row costs one load, one XOR and one
// vpdpbusd: the weight goes in shifted to unsigned, w + 128 (an XOR with
// 0x80), against the signed activation, so Σ (w + 128)·qx = Σ w·qx +
// 128·Σ qx, and Σ qx is the same for every row: it is taken once per call.
// (dot_block shifts the activation instead, which needs Σ w per row: a
// second vpdpbusd per 64 inputs.) Sixteen rows' lane sums are then reduced
// together into one vector, and scaled and stored as one. Exact in int32
// as dot_block is.
constexpr int kBlockRows = 16;

// Lane sums of Σ_c (w[c] + 128) · qx[c] for one row. Past cols both
// operands are zero (the masked weight lanes become 128, the activation's 0).
TC_ISA_VNNI inline __m512i row_lanes(const int8_t* w, const int8_t* qx, int64_t cols,
                                     const gemv_prefetch::Stream& stream) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc = _mm512_setzero_si512();
  int64_t k = 0;
  for (; k + 64 <= cols; k += 64) {
    stream.prefetch_ahead(w + k);
    const __m512i wu = _mm512_xor_si512(_mm512_loadu_si512(w + k), flip);
    acc = _mm512_dpbusd_epi32(acc, wu, _mm512_loadu_si512(qx + k));
  }
  if (k < cols) {
    stream.prefetch_ahead(w + k);
    const __mmask64 mask = gemv_prefetch::mask64(cols - k);
    const __m512i wu = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, w + k), flip);
    acc = _mm512_dpbusd_epi32(acc, wu, _mm512_maskz_loadu_epi8(mask, qx + k));
  }
  return acc;
}

// Σ_c qx[c], exact in int32 (|qx| <= 127 and cols <= kMaxCols).
TC_ISA_VNNI inline int32_t activation_sum(const int8_t* qx, int64_t cols) {
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i acc = _mm512_setzero_si512();
  for (int64_t k = 0; k < cols; k += 64) {
    acc = _mm512_dpbusd_epi32(acc, ones,
                              _mm512_maskz_loadu_epi8(gemv_prefetch::mask64(cols - k), qx + k));
  }
  return horizontal_sum(acc);
}

// y[r] for the `count` (1..16) rows from r0. The row loop is kept rolled,
// the lane sums going through the stack: unrolled (sixteen accumulators in
// registers) it read 150-160 GB/s from cache on two threads, rolled 170-180.
TC_ISA_VNNI inline void block_rows(const int8_t* w, const float* w_scales, int64_t cols,
                                   const int8_t* qx, __m512i shift, __m512 x_scale, float* y,
                                   int64_t r0, int64_t count, const gemv_prefetch::Stream& stream) {
  __m512i acc[kBlockRows];
#pragma GCC unroll 1
  for (int i = 0; i < kBlockRows; ++i) {
    acc[i] = i < count ? row_lanes(w + (r0 + i) * cols, qx, cols, stream) : _mm512_setzero_si512();
  }
  // The difference is taken modulo 2^32; the true sum fits in int32.
  const __m512i sums = _mm512_sub_epi32(sum16<Int32Lanes>(acc), shift);
  const __mmask16 rows = mask16(count);
  // The same two fp32 multiplications, in the same order, as every other
  // kernel: the outputs match bit for bit.
  const __m512 scaled = _mm512_mul_ps(
      _mm512_mul_ps(_mm512_cvtepi32_ps(sums), _mm512_maskz_loadu_ps(rows, w_scales + r0)), x_scale);
  _mm512_mask_storeu_ps(y + r0, rows, scaled);
}

}  // namespace

TC_ISA_VNNI void q8_dynamic_token_vnni(const int8_t* w, const float* w_scales, int64_t cols,
                                       const int8_t* qx, float x_scale, float* y, int64_t row_begin,
                                       int64_t row_end, const GemvNext& next) {
  const gemv_prefetch::ScaledRows streams(w, cols, w_scales, 4, row_begin, row_end, next);
  const auto shift = static_cast<int32_t>(128u * static_cast<uint32_t>(activation_sum(qx, cols)));
  const __m512i shift_lanes = _mm512_set1_epi32(shift);
  const __m512 scale = _mm512_set1_ps(x_scale);
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kBlockRows) {
    streams.prefetch_scales(r0);
    block_rows(w, w_scales, cols, qx, shift_lanes, scale, y, r0, min64(kBlockRows, row_end - r0),
               streams.weights());
  }
}

// One token (decode): through q8_dynamic_token_vnni. Several: rows in
// blocks of four; for each block every token in blocks of up to four, so the
// four weight rows stay in L1 while the tokens of the tile pass by. A short
// last row block repeats its last row (results discarded).
TC_ISA_VNNI void q8_dynamic_rows_vnni(const int8_t* w, const float* w_scales, int64_t cols,
                                      const int8_t* qx, const float* x_scales, int64_t x_stride,
                                      int64_t n, float* y, int64_t rows, int64_t row_begin,
                                      int64_t row_end) {
  if (n == 1) {
    return q8_dynamic_token_vnni(w, w_scales, cols, qx, x_scales[0], y, row_begin, row_end,
                                 GemvNext{});
  }
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
    const int64_t row_count = min64(kRows, row_end - r0);
    const int8_t* w_rows[kRows];
    for (int i = 0; i < kRows; ++i) w_rows[i] = w + (r0 + min64(i, row_count - 1)) * cols;
    for (int64_t t0 = 0; t0 < n; t0 += kTokens) {
      const int64_t token_count = min64(kTokens, n - t0);
      const int8_t* x_rows[kTokens];
      for (int j = 0; j < kTokens; ++j)
        x_rows[j] = qx + (t0 + min64(j, token_count - 1)) * x_stride;
      int32_t sums[kRows][kTokens];
      switch (token_count) {
        case 4:
          dot_block<4>(w_rows, x_rows, cols, sums);
          break;
        case 3:
          dot_block<3>(w_rows, x_rows, cols, sums);
          break;
        case 2:
          dot_block<2>(w_rows, x_rows, cols, sums);
          break;
        default:
          dot_block<1>(w_rows, x_rows, cols, sums);
          break;
      }
      // The same two fp32 multiplications, in the same order, as every other
      // kernel: the outputs match bit for bit.
      for (int64_t i = 0; i < row_count; ++i) {
        for (int64_t j = 0; j < token_count; ++j) {
          y[(t0 + j) * rows + r0 + i] =
              static_cast<float>(sums[i][j]) * w_scales[r0 + i] * x_scales[t0 + j];
        }
      }
    }
  }
}

}  // namespace tc::kernels::avx512
TC_ISA_END

#undef TC_ISA_VNNI
