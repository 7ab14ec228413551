// AVX-512 kernels for kQ8Row and kQ4G128 (see matmul_quant_avx512.h), in an
// AVX-512 region (core/isa_region.h), entered only after a run-time CPU check.
// They serve a few tokens at a time (fewer than the packed GEMM takes,
// matmul.cc); one token goes through the decode kernels of gemv.h.
//
// Each unpacks a tile of kTileRows rows × kBlockK inputs into an fp32
// scratch once, then runs a register-tiled fp32 micro-kernel over every
// token, so unpacking is amortized across tokens and the cost is the FMAs.
// GCC 12's AVX-512 headers trip -Wuninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/cpu/matmul_quant_avx512.h"

#include "kernels/cpu/avx512_common.h"

#include <immintrin.h>
#include "core/isa_region.h"

TC_ISA_AVX512_BEGIN
namespace tc::kernels::avx512 {

namespace {

constexpr int kTileTokens = 4;    // tokens per register tile
constexpr int kTileRows = 6;      // weight rows per register tile (24 accumulators)
constexpr int64_t kBlockK = 512;  // inputs per scratch block (a multiple of the int4 group)
static_assert(kBlockK % 128 == 0, "an int4 group must not straddle scratch blocks");

// ---- int8 --------------------------------------------------------------------

// 16 int8 (the first `count` of them; the rest read as 0) widened to fp32.
inline __m512 load_q8x16(const int8_t* q, int64_t count) {
  const __m128i raw = count >= 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(q))
                                  : _mm_maskz_loadu_epi8(mask16(count), q);
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(raw));
}

// ---- int4 --------------------------------------------------------------------

// Elements [c, c + 32) of a packed row, c even, as signed int8 q = nibble - 8
// in element order. Only the first `count` elements are meaningful.
inline __m128i unpack_q4x32(const uint8_t* row, int64_t c, int64_t count, __m128i* high_half) {
  const int64_t bytes = (count + 1) / 2;
  const __m128i raw = bytes >= 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + c / 2))
                                  : _mm_maskz_loadu_epi8(mask16(bytes), row + c / 2);
  const __m128i low_mask = _mm_set1_epi8(0x0f);
  const __m128i low = _mm_and_si128(raw, low_mask);                      // even elements
  const __m128i high = _mm_and_si128(_mm_srli_epi16(raw, 4), low_mask);  // odd elements
  const __m128i eight = _mm_set1_epi8(8);
  *high_half = _mm_sub_epi8(_mm_unpackhi_epi8(low, high), eight);  // elements 16..31
  return _mm_sub_epi8(_mm_unpacklo_epi8(low, high), eight);        // elements 0..15
}

inline __m512 widen_i8(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }

// ---- prefill micro-kernel --------------------------------------------------------

template <int RM, int RN>
void tile(const float* x, int64_t x_stride, const float* w, int64_t kw, float* y, int64_t y_stride,
          bool accumulate) {
  __m512 acc[RM][RN];
  for (int i = 0; i < RM; ++i)
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm512_setzero_ps();
  // Whole vectors unmasked (masked loads cost more), then one masked step.
  int64_t k = 0;
  for (; k + 16 <= kw; k += 16) {
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_loadu_ps(x + i * x_stride + k);
    for (int j = 0; j < RN; ++j) {
      const __m512 wv = _mm512_load_ps(w + j * kBlockK + k);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (k < kw) {
    const __mmask16 mask = mask16(kw - k);
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_maskz_loadu_ps(mask, x + i * x_stride + k);
    for (int j = 0; j < RN; ++j) {
      const __m512 wv = _mm512_load_ps(w + j * kBlockK + k);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  store_tile<RM, RN>(acc, y, y_stride, accumulate);
}

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, bool);

template <int RM, int RN>
void tile_entry(const float* x, int64_t x_stride, const float* w, int64_t kw, float* y,
                int64_t y_stride, bool accumulate) {
  tile<RM, RN>(x, x_stride, w, kw, y, y_stride, accumulate);
}

// The micro-kernel for every tile size: edge tiles (fewer tokens or rows
// left) use smaller instantiations. Built at compile time, so the table
// needs no initializer at start-up (which would run before any CPU check).
struct TileTable {
  TileFn fns[kTileTokens + 1][kTileRows + 1] = {};
};

template <int RM = 1, int RN = 1>
constexpr void fill_tiles(TileTable& table) {
  table.fns[RM][RN] = &tile_entry<RM, RN>;
  if constexpr (RN < kTileRows) {
    fill_tiles<RM, RN + 1>(table);
  } else if constexpr (RM < kTileTokens) {
    fill_tiles<RM + 1, 1>(table);
  }
}

constexpr TileTable make_tile_table() {
  TileTable table;
  fill_tiles(table);
  return table;
}

constexpr TileTable kTiles = make_tile_table();

// Unpack(r, k0, kw, out) writes dequantized w[r][k0 .. k0 + kw) to out
// (whole 16-lane vectors; lanes past kw may hold anything, the micro-kernel
// masks x there to zero).
template <typename Unpack>
void gemm_rows(int64_t cols, const float* x, int64_t n, float* y, int64_t rows, int64_t row_begin,
               int64_t row_end, Unpack unpack) {
  alignas(64) float scratch[kTileRows * kBlockK];
  for (int64_t k0 = 0; k0 < cols; k0 += kBlockK) {
    const int64_t kw = k0 + kBlockK < cols ? kBlockK : cols - k0;
    for (int64_t r = row_begin; r < row_end; r += kTileRows) {
      const int rn = static_cast<int>(row_end - r < kTileRows ? row_end - r : kTileRows);
      for (int j = 0; j < rn; ++j) unpack(r + j, k0, kw, scratch + j * kBlockK);
      for (int64_t t = 0; t < n; t += kTileTokens) {
        const int rm = static_cast<int>(n - t < kTileTokens ? n - t : kTileTokens);
        kTiles.fns[rm][rn](x + t * cols + k0, cols, scratch, kw, y + t * rows + r, rows, k0 > 0);
      }
    }
  }
}

}  // namespace

void q8_row_gemm(const int8_t* q, const float* scales, int64_t cols, const float* x, int64_t n,
                 float* y, int64_t rows, int64_t row_begin, int64_t row_end) {
  gemm_rows(cols, x, n, y, rows, row_begin, row_end,
            [&](int64_t r, int64_t k0, int64_t kw, float* out) {
              const int8_t* src = q + r * cols + k0;
              const __m512 scale = _mm512_set1_ps(scales[r]);
              for (int64_t k = 0; k < kw; k += 16) {
                _mm512_store_ps(out + k, _mm512_mul_ps(load_q8x16(src + k, kw - k), scale));
              }
            });
}

void q4_g128_gemm(const uint8_t* packed, const uint16_t* scales, int64_t cols, const float* x,
                  int64_t n, float* y, int64_t rows, int64_t row_begin, int64_t row_end) {
  const int64_t row_bytes = (cols + 1) / 2;
  const int64_t groups = (cols + 127) / 128;
  gemm_rows(cols, x, n, y, rows, row_begin, row_end,
            [&](int64_t r, int64_t k0, int64_t kw, float* out) {
              const uint8_t* row = packed + r * row_bytes;
              const uint16_t* row_scales = scales + r * groups;
              // k0 and every 32-wide step start on a group boundary multiple of 32.
              for (int64_t k = 0; k < kw; k += 32) {
                const __m512 scale = _mm512_set1_ps(_cvtsh_ss(row_scales[(k0 + k) / 128]));
                __m128i high;
                const __m128i low = unpack_q4x32(row, k0 + k, kw - k, &high);
                _mm512_store_ps(out + k, _mm512_mul_ps(widen_i8(low), scale));
                _mm512_store_ps(out + k + 16, _mm512_mul_ps(widen_i8(high), scale));
              }
            });
}

}  // namespace tc::kernels::avx512
TC_ISA_END
