// The int4 g128 and int8-row decode kernels on integer dot products (see
// gemv.h, "int4 g128 and int8 rows with integer dot products").
//
// In an AVX-512 region (core/isa_region.h); the functions that use VNNI
// instructions are marked TC_ISA_VNNI. Entered only after a run-time check
// for AVX-512 VNNI. No lambdas in the VNNI functions: a lambda gets the
// region's features but not its enclosing function's VNNI.
//
// Both kernels reduce sixteen rows' lane sums together (sixteen_row_blocks)
// and load whole groups unmasked, only a short last group masked. (An
// early version chose between a plain and a masked load per row; GCC
// branched on it, and the kernels ran 10-15% slower from memory, so every
// load was masked until the sixteen-row form, 8-10% faster from cache for
// int4 and 11-17% for int8.)
// GCC 12's AVX-512 headers trip -Wuninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "core/isa_region.h"
#include "kernels/cpu/avx512_common.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/gemv_prefetch.h"

TC_ISA_AVX512_BEGIN
namespace tc::kernels::avx512 {

namespace {

using gemv_prefetch::mask64;
using gemv_prefetch::ScaledRows;
using gemv_prefetch::Stream;

constexpr int32_t kSplitMax = 127 * 256;  // as in gemv.cc

// Clamps to ±kSplitMax and stores q's halves, 16 inputs that sit at bytes
// [0, 16) of their vectors: hi to `hi_out`, lo to `lo_out`.
inline void store_halves(__m512i q, int8_t* hi_out, int8_t* lo_out) {
  q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(-kSplitMax)),
                       _mm512_set1_epi32(kSplitMax));
  const __m512i hi = _mm512_srai_epi32(_mm512_add_epi32(q, _mm512_set1_epi32(128)), 8);
  const __m512i lo = _mm512_sub_epi32(q, _mm512_slli_epi32(hi, 8));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(hi_out), _mm512_cvtepi32_epi8(hi));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(lo_out), _mm512_cvtepi32_epi8(lo));
}

// One group of x as both kernels read it: its four vectors of halves, in
// the layout's order (for int4 the even inputs, then the odd ones), and the
// per-lane zero-point terms.
struct SplitGroup {
  SplitGroup(const SplitX& x, int64_t g)
      : hi{_mm512_load_si512(x.parts + g * kSplitGroupBytes),
           _mm512_load_si512(x.parts + g * kSplitGroupBytes + 64)},
        lo{_mm512_load_si512(x.parts + g * kSplitGroupBytes + 128),
           _mm512_load_si512(x.parts + g * kSplitGroupBytes + 192)},
        correction(_mm512_loadu_si512(x.corrections + g * kSplitLanes)) {}

  // Per lane, Σ (w + zero)·q - zero·Σ q over the lane's inputs, for the
  // group's unsigned weights w0 (matching hi[0], lo[0]) and w1 (hi[1],
  // lo[1]): exact in int32, then fp32.
  TC_ISA_VNNI __m512 lane_sums(__m512i w0, __m512i w1) const {
    __m512i high = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w0, hi[0]);
    high = _mm512_dpbusd_epi32(high, w1, hi[1]);
    __m512i low = _mm512_dpbusd_epi32(correction, w0, lo[0]);
    low = _mm512_dpbusd_epi32(low, w1, lo[1]);
    return _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_slli_epi32(high, 8), low));
  }

  __m512i hi[2], lo[2], correction;
};

// Lane sums of Σ_g (scale[g] · s_g) · Σ_{c in g} (n_c - 8) · q_c for one row
// of packed nibbles (the caller reduces sixteen rows' lanes at once). Rows
// are read one after the other (see gemv_prefetch.h). A row's group scales
// are widened and multiplied by x's sixteen at a time, and each group takes
// its lane with one permute (a scalar fp16 conversion, product and broadcast
// per group cost four instructions more); whole 64-byte groups load
// unmasked, only a short last one masked.
TC_ISA_VNNI inline __m512 q4_split_row(const uint8_t* w, const uint16_t* scales, int64_t cols,
                                       const SplitX& x, const Stream& stream) {
  const int64_t row_bytes = (cols + 1) / 2;
  const int64_t groups = (cols + kSplitGroup - 1) / kSplitGroup;
  const __m512i low_nibble = _mm512_set1_epi8(0x0f);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t g0 = 0; g0 < groups; g0 += 16) {
    const __mmask16 chunk = mask16(groups - g0);
    const __m512 group_scales =
        _mm512_mul_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(chunk, scales + g0)),
                      _mm512_maskz_loadu_ps(chunk, x.scales + g0));
    const int64_t g_end = groups - g0 < 16 ? groups : g0 + 16;
    // The group's lane in group_scales, counted up in a vector: broadcasting
    // g - g0 from a general register each group measured 2-3% slower (one
    // thread, from cache, 4864 x 896 and 896 x 4864).
    __m512i lane = _mm512_setzero_si512();
    for (int64_t g = g0; g < g_end; ++g) {
      const int64_t byte = g * 64;
      stream.prefetch_ahead(w + byte);
      const __m512i packed = row_bytes - byte >= 64
                                 ? _mm512_loadu_si512(w + byte)
                                 : _mm512_maskz_loadu_epi8(mask64(row_bytes - byte), w + byte);
      const __m512i even = _mm512_and_si512(packed, low_nibble);
      const __m512i odd = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibble);
      // Per lane |Σ (n - 8)·q| <= 8 · 8 · 32512 < 2^24: exact in fp32.
      const __m512 group_sum = SplitGroup(x, g).lane_sums(even, odd);
      const __m512 scale = _mm512_permutexvar_ps(lane, group_scales);
      lane = _mm512_add_epi32(lane, _mm512_set1_epi32(1));
      acc = _mm512_fmadd_ps(group_sum, scale, acc);
    }
  }
  return acc;
}

// Lane sums of Σ_g s_g · Σ_{c in g} w[c] · q_c for one row (the caller
// reduces sixteen rows' lanes at once and applies the row scales). Whole
// 128-byte groups load unmasked, only a short last group masked. Against
// masking every load and a horizontal sum per row, one thread from cache
// (quant_matmul_bench q8_row mib:0, alternated): 896x896 14.3 -> 12.7 us,
// 4864x896 82.7 -> 70.0, 896x4864 71.5 -> 59.1.
TC_ISA_VNNI inline __m512 q8_split_row(const int8_t* w, int64_t cols, const SplitX& x,
                                       const Stream& stream) {
  const int64_t groups = (cols + kSplitGroup - 1) / kSplitGroup;
  const int64_t whole = cols / kSplitGroup;
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512 acc = _mm512_setzero_ps();
  // Per lane |Σ w·q| <= 8 · 128 · 32512; int32 holds it, and fp32 rounds it
  // (if at all) by a relative 6e-8.
  for (int64_t g = 0; g < whole; ++g) {
    const int8_t* wg = w + g * kSplitGroup;
    stream.prefetch_ahead(wg);
    stream.prefetch_ahead(wg + 64);
    const __m512i w0 = _mm512_xor_si512(_mm512_loadu_si512(wg), flip);
    const __m512i w1 = _mm512_xor_si512(_mm512_loadu_si512(wg + 64), flip);
    acc = _mm512_fmadd_ps(SplitGroup(x, g).lane_sums(w0, w1), _mm512_set1_ps(x.scales[g]), acc);
  }
  if (whole < groups) {
    const int64_t c = whole * kSplitGroup;
    stream.prefetch_ahead(w + c);
    stream.prefetch_ahead(w + c + 64);
    // Masked-off bytes load as 0 and flip to 128, against x's zero padding.
    const __m512i w0 = _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask64(cols - c), w + c), flip);
    const __m512i w1 =
        _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask64(cols - c - 64), w + c + 64), flip);
    acc = _mm512_fmadd_ps(SplitGroup(x, whole).lane_sums(w0, w1), _mm512_set1_ps(x.scales[whole]),
                          acc);
  }
  return acc;
}

}  // namespace

TC_ISA_VNNI void split_x_vnni(SplitLayout layout, const float* x, int64_t cols, int8_t* parts,
                              float* scales, int32_t* corrections) {
  const int zero_shift = layout == SplitLayout::kNibblePairs ? 3 : 7;  // zero = 8 or 128
  const int64_t groups = (cols + kSplitGroup - 1) / kSplitGroup;
  const __m512i abs_bits = _mm512_set1_epi32(0x7fffffff);
  const __m512i inf_bits = _mm512_set1_epi32(0x7f800000);
  // Even inputs of a pair of vectors (a: 0..15, b: 16..31), then odd ones.
  const __m512i even_index =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd_index = _mm512_add_epi32(even_index, _mm512_set1_epi32(1));
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t g = 0; g < groups; ++g) {
    const float* xg = x + g * kSplitGroup;
    const int64_t count = cols - g * kSplitGroup;
    int8_t* out = parts + g * kSplitGroupBytes;
    int32_t* correction = corrections + g * kSplitLanes;
    __m512 v[8];
    __m512i max_bits = _mm512_setzero_si512();
    for (int k = 0; k < 8; ++k) {
      v[k] = _mm512_maskz_loadu_ps(mask16(count - 16 * k), xg + 16 * k);
      // For non-negative floats the bit patterns order like the values, and
      // any NaN or inf has bits >= those of inf.
      max_bits = _mm512_max_epu32(max_bits, _mm512_and_si512(_mm512_castps_si512(v[k]), abs_bits));
    }
    const bool finite = _mm512_cmpge_epu32_mask(max_bits, inf_bits) == 0;
    const float max_abs = _mm512_reduce_max_ps(_mm512_castsi512_ps(max_bits));
    if (!finite || max_abs == 0.0f) {
      scales[g] = finite ? 0.0f : __builtin_nanf("");
      for (int k = 0; k < 4; ++k) _mm512_storeu_si512(out + 64 * k, _mm512_setzero_si512());
      _mm512_storeu_si512(correction, _mm512_setzero_si512());
      continue;
    }
    scales[g] = max_abs / static_cast<float>(kSplitMax);
    const __m512 inverse = _mm512_set1_ps(static_cast<float>(kSplitMax) / max_abs);
    if (layout == SplitLayout::kBytes) {
      for (int k = 0; k < 8; ++k) {
        store_halves(_mm512_cvtps_epi32(_mm512_mul_ps(v[k], inverse)), out + 16 * k,
                     out + 128 + 16 * k);
      }
    } else {
      for (int k = 0; k < 4; ++k) {
        const __m512i a = _mm512_cvtps_epi32(_mm512_mul_ps(v[2 * k], inverse));
        const __m512i b = _mm512_cvtps_epi32(_mm512_mul_ps(v[2 * k + 1], inverse));
        store_halves(_mm512_permutex2var_epi32(a, even_index, b), out + 16 * k, out + 128 + 16 * k);
        store_halves(_mm512_permutex2var_epi32(a, odd_index, b), out + 64 + 16 * k,
                     out + 192 + 16 * k);
      }
    }
    // Lane l's inputs are bytes 4l .. 4l + 3 of each vector: sum them with
    // the same instruction the kernel multiplies them with.
    __m512i hi_sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_loadu_si512(out));
    hi_sum = _mm512_dpbusd_epi32(hi_sum, ones, _mm512_loadu_si512(out + 64));
    __m512i lo_sum =
        _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_loadu_si512(out + 128));
    lo_sum = _mm512_dpbusd_epi32(lo_sum, ones, _mm512_loadu_si512(out + 192));
    // -zero · Σ q = -zero · (256 · Σ hi + Σ lo)
    const __m512i q_sum = _mm512_add_epi32(_mm512_slli_epi32(hi_sum, 8), lo_sum);
    _mm512_storeu_si512(
        correction, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(q_sum, zero_shift)));
  }
}

namespace {

// y[r] for rows [row_begin, row_end) in blocks of sixteen: row_lanes(r)
// gives row r's lane sums; a block's sixteen are reduced together into one
// vector, multiplied by the rows' scales when kRowScales (int8; int4 scales
// its groups already) and stored as one. The row loop is kept rolled, as in
// the dynamic int8 kernel. RowLanes is a struct, not a lambda (GCC does not
// pass the target attribute on to lambdas), and holds x and the stream by
// value: holding them by reference made both kernels ~10% slower from cache
// (quant_matmul_bench, one thread), by value they measured as when each
// kernel had its own loop.
template <bool kRowScales, typename RowLanes>
TC_ISA_VNNI inline void sixteen_row_blocks(const ScaledRows& streams, RowLanes row_lanes,
                                           const float* row_scales, int64_t row_begin,
                                           int64_t row_end, float* y) {
  for (int64_t r0 = row_begin; r0 < row_end; r0 += 16) {
    const int64_t count = row_end - r0 < 16 ? row_end - r0 : 16;
    __m512 lanes[16];
#pragma GCC unroll 1
    for (int64_t i = 0; i < 16; ++i) {
      const int64_t r = r0 + i;
      if (i < count) {
        streams.prefetch_scales(r);
        lanes[i] = row_lanes(r);
      } else {
        lanes[i] = _mm512_setzero_ps();
      }
    }
    const __mmask16 rows = mask16(count);
    __m512 sums = sum16<Float32Lanes>(lanes);
    if constexpr (kRowScales)
      sums = _mm512_mul_ps(_mm512_maskz_loadu_ps(rows, row_scales + r0), sums);
    _mm512_mask_storeu_ps(y + r0, rows, sums);
  }
}

struct Q4RowLanes {
  const uint8_t* packed;
  const uint16_t* scales;
  int64_t cols, row_bytes, groups;
  SplitX x;
  Stream stream;
  TC_ISA_VNNI __m512 operator()(int64_t r) const {
    return q4_split_row(packed + r * row_bytes, scales + r * groups, cols, x, stream);
  }
};

struct Q8RowLanes {
  const int8_t* q;
  int64_t cols;
  SplitX x;
  Stream stream;
  TC_ISA_VNNI __m512 operator()(int64_t r) const {
    return q8_split_row(q + r * cols, cols, x, stream);
  }
};

}  // namespace

TC_ISA_VNNI void gemv_q4_g128_vnni(const uint8_t* packed, const uint16_t* scales, int64_t cols,
                                   const SplitX& x, float* y, int64_t row_begin, int64_t row_end,
                                   const GemvNext& next) {
  const int64_t row_bytes = (cols + 1) / 2, groups = (cols + kSplitGroup - 1) / kSplitGroup;
  const ScaledRows streams(packed, row_bytes, scales, groups * 2, row_begin, row_end, next);
  sixteen_row_blocks<false>(
      streams, Q4RowLanes{packed, scales, cols, row_bytes, groups, x, streams.weights()}, nullptr,
      row_begin, row_end, y);
}

TC_ISA_VNNI void gemv_q8_row_vnni(const int8_t* q, const float* scales, int64_t cols,
                                  const SplitX& x, float* y, int64_t row_begin, int64_t row_end,
                                  const GemvNext& next) {
  const ScaledRows streams(q, cols, scales, 4, row_begin, row_end, next);
  sixteen_row_blocks<true>(streams, Q8RowLanes{q, cols, x, streams.weights()}, scales, row_begin,
                           row_end, y);
}

}  // namespace tc::kernels::avx512
TC_ISA_END

#undef TC_ISA_VNNI
