// AVX-512 packed-panel GEMM (see gemm_packed.h), in an AVX-512 region
// (core/isa_region.h), entered only after a run-time CPU check.
// GCC 12's AVX-512 headers trip -Wuninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "core/isa_region.h"
#include "kernels/cpu/avx512_common.h"
#include "kernels/cpu/gemm_packed.h"

TC_ISA_AVX512_BEGIN
namespace tc::kernels::avx512 {

namespace {

constexpr int kTileTokens = 6;    // tokens per register tile: 6 × 4 = 24 accumulators
constexpr int64_t kPanelK = 128;  // inputs per panel: 64 × 128 fp32 = 32 KiB, stays in L1;
                                  // also exactly one int4 group
static_assert(kPanelRows == 64, "the tile holds four 16-lane vectors of rows");

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Weights [k, k + count) of row r (count <= 16; k a multiple of 16) as fp32,
// dequantized; lanes past count are zero.
template <PackedFormat F>
inline __m512 load16(const PackedSource& w, int64_t r, int64_t k, int64_t count) {
  const __mmask16 mask = mask16(count);
  if constexpr (F == PackedFormat::kF32) {
    return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(w.values) + r * w.cols + k);
  } else if constexpr (F == PackedFormat::kBF16) {
    const __m256i raw =
        _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(w.values) + r * w.cols + k);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
  } else if constexpr (F == PackedFormat::kF16) {
    return _mm512_cvtph_ps(
        _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(w.values) + r * w.cols + k));
  } else if constexpr (F == PackedFormat::kQ8Row) {
    const __m128i raw =
        _mm_maskz_loadu_epi8(mask, static_cast<const int8_t*>(w.values) + r * w.cols + k);
    const float scale = static_cast<const float*>(w.scales)[r];
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(raw)), _mm512_set1_ps(scale));
  } else if constexpr (F == PackedFormat::kQ8G128) {
    // The 16 inputs lie in one group of 128 (k is a multiple of 16).
    const __m128i raw =
        _mm_maskz_loadu_epi8(mask, static_cast<const int8_t*>(w.values) + r * w.cols + k);
    const int64_t groups = (w.cols + 127) / 128;
    const float scale = _cvtsh_ss(static_cast<const uint16_t*>(w.scales)[r * groups + k / 128]);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(raw)), _mm512_set1_ps(scale));
  } else {
    // Byte b of a row holds element 2b in its low nibble and 2b+1 in its
    // high one, stored as q + 8.
    const int64_t row_bytes = (w.cols + 1) / 2;
    const int64_t groups = (w.cols + 127) / 128;
    const auto* row = static_cast<const uint8_t*>(w.values) + r * row_bytes;
    const __m128i raw = _mm_maskz_loadu_epi8(mask16((count + 1) / 2), row + k / 2);
    const __m128i low_mask = _mm_set1_epi8(0x0f);
    const __m128i low = _mm_and_si128(raw, low_mask);
    const __m128i high = _mm_and_si128(_mm_srli_epi16(raw, 4), low_mask);
    const __m512i q =
        _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(low, high)), _mm512_set1_epi32(8));
    const float scale = _cvtsh_ss(static_cast<const uint16_t*>(w.scales)[r * groups + k / 128]);
    return _mm512_maskz_mul_ps(mask, _mm512_cvtepi32_ps(q), _mm512_set1_ps(scale));
  }
}

// In place: v[j][m] becomes v[m][j] (a 16 × 16 transpose).
inline void transpose16(__m512 (&v)[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
  // Per 128-bit lane L, v[4i + c] becomes column 4L + c of rows 4i .. 4i+3.
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
    v[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
    v[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    v[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
    v[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
  }
  // Gather lane L of v[c], v[4 + c], v[8 + c], v[12 + c] into column 4L + c.
  for (int c = 0; c < 4; ++c) {
    const __m512 a = _mm512_shuffle_f32x4(v[c], v[4 + c], 0x88);
    const __m512 b = _mm512_shuffle_f32x4(v[c], v[4 + c], 0xdd);
    const __m512 e = _mm512_shuffle_f32x4(v[8 + c], v[12 + c], 0x88);
    const __m512 f = _mm512_shuffle_f32x4(v[8 + c], v[12 + c], 0xdd);
    t[c] = _mm512_shuffle_f32x4(a, e, 0x88);
    t[8 + c] = _mm512_shuffle_f32x4(a, e, 0xdd);
    t[4 + c] = _mm512_shuffle_f32x4(b, f, 0x88);
    t[12 + c] = _mm512_shuffle_f32x4(b, f, 0xdd);
  }
  for (int m = 0; m < 16; ++m) v[m] = t[m];
}

// Address of element (r, k) of the stored values (int4: its byte).
template <PackedFormat F>
inline const char* element_address(const PackedSource& w, int64_t r, int64_t k) {
  const auto* base = static_cast<const char*>(w.values);
  if constexpr (F == PackedFormat::kF32) return base + (r * w.cols + k) * 4;
  if constexpr (F == PackedFormat::kBF16 || F == PackedFormat::kF16) {
    return base + (r * w.cols + k) * 2;
  }
  if constexpr (F == PackedFormat::kQ8Row || F == PackedFormat::kQ8G128) {
    return base + r * w.cols + k;
  }
  return base + r * ((w.cols + 1) / 2) + k / 2;
}

// panel[k][j] = w[r0 + j][k0 + k] for j < kPanelRows (zero past nr), k < kc.
template <PackedFormat F>
void pack_panel(const PackedSource& w, int64_t r0, int64_t nr, int64_t k0, int64_t kc,
                float* panel) {
  for (int64_t group = 0; group < kPanelRows / 16; ++group) {
    const int64_t rows_here = nr - 16 * group;
    for (int64_t k = 0; k < kc; k += 16) {
      const int64_t count = min64(16, kc - k);
      __m512 v[16];
      for (int j = 0; j < 16; ++j) {
        v[j] =
            j < rows_here ? load16<F>(w, r0 + 16 * group + j, k0 + k, count) : _mm512_setzero_ps();
      }
      transpose16(v);
      for (int64_t m = 0; m < count; ++m)
        _mm512_store_ps(panel + (k + m) * kPanelRows + 16 * group, v[m]);
    }
  }
}

// Brings the block the next pack will read (the next kPanelK inputs of the
// same rows, or after the last block the first block of the next panel this
// thread runs) into L2 while the current panel's tiles run. The weights come
// from memory once per prefill, and unprefetched every pack waited for them
// with the FMA units idle (a quarter of the GEMM time at Qwen2.5-0.5B
// shapes). The requests are spread thinly: one line every few inputs inside
// each tile's loop (one()), and a tile that ends behind its share catches up
// (catch_up()). Issued in bursts they stall the core once its miss buffers
// are full: all at pack time (512 lines for fp32) was slower still, and a
// burst of ~26 lines before each 6-token tile left the fp32 GEMM at 216-219
// GFLOP/s on one thread against 227-238 spread like this (quant_matmul_bench,
// 4864 x 896, 128 tokens).
template <PackedFormat F>
class NextBlockPrefetch {
 public:
  // Block (r0, k0) of *w; nothing when w is null or r0 is past its rows.
  NextBlockPrefetch(const PackedSource* w, int64_t r0, int64_t k0, int64_t tiles)
      : w_(w), r0_(r0), k0_(k0) {
    if (w == nullptr || r0 >= w->rows) return;
    const int64_t rows = min64(kPanelRows, w->rows - r0);
    const int64_t kc = min64(kPanelK, w->cols - k0);
    const char* first = element_address<F>(*w, r0, k0);
    const char* end = element_address<F>(*w, r0, k0 + kc - 1) + 1;
    lines_per_row_ = (end - first + 63) / 64 + 1;  // +1: the block may straddle a line
    total_ = rows * lines_per_row_;
    per_tile_ = (total_ + tiles - 1) / tiles;
  }

  // The next line, if any is left. The position walks row by row without a
  // division, which would cost more than the prefetch.
  void one() {
    if (done_ == total_) return;
    if (line_ == 0) row_start_ = element_address<F>(*w_, r0_ + row_, k0_);
    _mm_prefetch(row_start_ + 64 * line_, _MM_HINT_T1);
    ++done_;
    if (++line_ == lines_per_row_) {
      line_ = 0;
      ++row_;
    }
  }

  // After tile number `tiles_done` (counting from one): whatever of the
  // tiles' shares one() has not yet requested.
  void catch_up(int64_t tiles_done) {
    const int64_t target = min64(tiles_done * per_tile_, total_);
    while (done_ < target) one();
  }

 private:
  const PackedSource* w_;
  int64_t r0_ = 0, k0_ = 0;
  int64_t lines_per_row_ = 0, total_ = 0, per_tile_ = 0, done_ = 0;
  int64_t row_ = 0, line_ = 0;       // the position of line done_ ...
  const char* row_start_ = nullptr;  // ... and where row_'s block starts
};

// Inputs per prefetched line inside a tile: a 6-token tile spends ~12 cycles
// per input, and at 128 tokens a tile has ~26 lines to request in 128 inputs.
constexpr int64_t kInputsPerPrefetch = 4;

// y[i][0 .. nr) (+)= Σ_k x[i][k] · panel[k][0 .. nr) for MR tokens.
template <int MR, PackedFormat F>
void panel_tile(const float* panel, int64_t kc, const float* x, int64_t x_stride, float* y,
                int64_t y_stride, int64_t nr, bool accumulate, NextBlockPrefetch<F>& prefetch) {
  __m512 acc[MR][4];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    if (k % kInputsPerPrefetch == 0) prefetch.one();
    const float* p = panel + k * kPanelRows;
    const __m512 w0 = _mm512_load_ps(p), w1 = _mm512_load_ps(p + 16);
    const __m512 w2 = _mm512_load_ps(p + 32), w3 = _mm512_load_ps(p + 48);
    for (int i = 0; i < MR; ++i) {
      const __m512 b = _mm512_set1_ps(x[i * x_stride + k]);
      acc[i][0] = _mm512_fmadd_ps(w0, b, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(w1, b, acc[i][1]);
      acc[i][2] = _mm512_fmadd_ps(w2, b, acc[i][2]);
      acc[i][3] = _mm512_fmadd_ps(w3, b, acc[i][3]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < 4; ++j) {
      const __mmask16 mask = mask16(nr - 16 * j);
      if (mask == 0) break;
      float* out = y + i * y_stride + 16 * j;
      __m512 v = acc[i][j];
      if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, out));
      _mm512_mask_storeu_ps(out, mask, v);
    }
  }
}

template <PackedFormat F>
void gemm_format(const PackedSource& w, const float* x, float* y, int64_t row_begin,
                 int64_t row_end, int64_t token_begin, int64_t token_end, const PackedNext& next) {
  alignas(64) float panel[kPanelK * kPanelRows];
  const PackedSource* next_source =
      next.source != nullptr && next.source->format == F ? next.source : nullptr;
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kPanelRows) {
    const int64_t nr = min64(kPanelRows, row_end - r0);
    for (int64_t k0 = 0; k0 < w.cols; k0 += kPanelK) {
      const int64_t kc = min64(kPanelK, w.cols - k0);
      pack_panel<F>(w, r0, nr, k0, kc, panel);
      const bool accumulate = k0 > 0;
      // The block packed after this one: the next inputs of these rows, else
      // the next panel of this call, else the caller's next panel.
      const PackedSource* then = &w;
      int64_t then_row = r0, then_k = k0 + kPanelK;
      if (then_k >= w.cols) {
        then_k = 0;
        then_row = r0 + kPanelRows;
        if (then_row >= row_end) {
          then = next_source;
          then_row = next.row;
        }
      }
      NextBlockPrefetch<F> prefetch(then, then_row, then_k,
                                    (token_end - token_begin + kTileTokens - 1) / kTileTokens);
      int64_t tiles_done = 0;
      for (int64_t t = token_begin; t < token_end; t += kTileTokens) {
        const float* xt = x + t * w.cols + k0;
        float* yt = y + t * w.rows + r0;
        switch (min64(kTileTokens, token_end - t)) {
          case 6:
            panel_tile<6>(panel, kc, xt, w.cols, yt, w.rows, nr, accumulate, prefetch);
            break;
          case 5:
            panel_tile<5>(panel, kc, xt, w.cols, yt, w.rows, nr, accumulate, prefetch);
            break;
          case 4:
            panel_tile<4>(panel, kc, xt, w.cols, yt, w.rows, nr, accumulate, prefetch);
            break;
          case 3:
            panel_tile<3>(panel, kc, xt, w.cols, yt, w.rows, nr, accumulate, prefetch);
            break;
          case 2:
            panel_tile<2>(panel, kc, xt, w.cols, yt, w.rows, nr, accumulate, prefetch);
            break;
          default:
            panel_tile<1>(panel, kc, xt, w.cols, yt, w.rows, nr, accumulate, prefetch);
            break;
        }
        prefetch.catch_up(++tiles_done);
      }
    }
  }
}

}  // namespace

void gemm_packed(const PackedSource& w, const float* x, float* y, int64_t row_begin,
                 int64_t row_end, int64_t token_begin, int64_t token_end, const PackedNext& next) {
  switch (w.format) {
    case PackedFormat::kF32:
      return gemm_format<PackedFormat::kF32>(w, x, y, row_begin, row_end, token_begin, token_end,
                                             next);
    case PackedFormat::kBF16:
      return gemm_format<PackedFormat::kBF16>(w, x, y, row_begin, row_end, token_begin, token_end,
                                              next);
    case PackedFormat::kF16:
      return gemm_format<PackedFormat::kF16>(w, x, y, row_begin, row_end, token_begin, token_end,
                                             next);
    case PackedFormat::kQ8Row:
      return gemm_format<PackedFormat::kQ8Row>(w, x, y, row_begin, row_end, token_begin, token_end,
                                               next);
    case PackedFormat::kQ8G128:
      return gemm_format<PackedFormat::kQ8G128>(w, x, y, row_begin, row_end, token_begin,
                                                token_end, next);
    case PackedFormat::kQ4G128:
      return gemm_format<PackedFormat::kQ4G128>(w, x, y, row_begin, row_end, token_begin, token_end,
                                                next);
  }
}

}  // namespace tc::kernels::avx512
TC_ISA_END
