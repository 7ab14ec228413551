// The prefill GEMM family (see gemm_packed.h), in an AVX-512 region
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

using weights::WeightFormat;

namespace {

constexpr int kTileTokens = 6;    // tokens per register tile: 6 × 4 = 24 accumulators
constexpr int64_t kPanelK = 128;  // inputs per panel: 64 × 128 fp32 = 32 KiB, stays in L1;
                                  // also exactly one int4 group
static_assert(kPanelRows == 64, "the tile holds four 16-lane vectors of rows");

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Weights [k, k + count) of row r (count <= 16; k a multiple of 16) as fp32,
// dequantized; lanes past count are zero. Full: count is 16, read with
// unmasked loads (cheaper than masked ones in a tile's main loop).
template <WeightFormat F, bool Full = false>
inline __m512 load16(const PackedSource& w, int64_t r, int64_t k, int64_t count) {
  const __mmask16 mask = mask16(count);
  if constexpr (F == WeightFormat::kF32) {
    const float* p = static_cast<const float*>(w.values) + r * w.cols + k;
    return Full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask, p);
  } else if constexpr (F == WeightFormat::kBF16 || F == WeightFormat::kF16) {
    const uint16_t* p = static_cast<const uint16_t*>(w.values) + r * w.cols + k;
    const __m256i raw = Full ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
                             : _mm256_maskz_loadu_epi16(mask, p);
    if constexpr (F == WeightFormat::kF16) return _mm512_cvtph_ps(raw);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
  } else if constexpr (F == WeightFormat::kQ8Row || F == WeightFormat::kQ8G128) {
    const int8_t* p = static_cast<const int8_t*>(w.values) + r * w.cols + k;
    const __m128i raw =
        Full ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)) : _mm_maskz_loadu_epi8(mask, p);
    float scale;
    if constexpr (F == WeightFormat::kQ8Row) {
      scale = static_cast<const float*>(w.scales)[r];
    } else {  // the 16 inputs lie in one group of 128 (k is a multiple of 16)
      const int64_t groups = (w.cols + 127) / 128;
      scale = _cvtsh_ss(static_cast<const uint16_t*>(w.scales)[r * groups + k / 128]);
    }
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(raw)), _mm512_set1_ps(scale));
  } else {
    static_assert(F == WeightFormat::kQ4G128, "a format of the family without a load");
    // Byte b of a row holds element 2b in its low nibble and 2b+1 in its
    // high one, stored as q + 8.
    const int64_t row_bytes = (w.cols + 1) / 2;
    const int64_t groups = (w.cols + 127) / 128;
    const auto* p = static_cast<const uint8_t*>(w.values) + r * row_bytes + k / 2;
    const __m128i raw = Full ? _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))
                             : _mm_maskz_loadu_epi8(mask16((count + 1) / 2), p);
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
template <WeightFormat F>
inline const char* element_address(const PackedSource& w, int64_t r, int64_t k) {
  const auto* base = static_cast<const char*>(w.values);
  if constexpr (F == WeightFormat::kF32) return base + (r * w.cols + k) * 4;
  if constexpr (F == WeightFormat::kBF16 || F == WeightFormat::kF16) {
    return base + (r * w.cols + k) * 2;
  }
  if constexpr (F == WeightFormat::kQ8Row || F == WeightFormat::kQ8G128) {
    return base + r * w.cols + k;
  }
  return base + r * ((w.cols + 1) / 2) + k / 2;
}

// panel[k][j] = w[r0 + j][k0 + k] for j < kPanelRows (zero past nr), k < kc.
template <WeightFormat F>
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
template <WeightFormat F>
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
template <int MR, WeightFormat F>
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

// ---- Fewer than kPackFromTokens tokens: dot-product tiles, no packing ----

// One tile takes every token of a short block, so each weight vector is
// loaded once for all of them and the weights stream from memory once.
constexpr int kDotTokens = static_cast<int>(kPackFromTokens) - 1;
constexpr int kDotRows = 6;  // the most rows of a tile
// Inputs a quantized format is dequantized in at a time, into an L1
// scratch; a dense format's tile runs over the whole row (a block's end
// cost a horizontal sum and a store of every accumulator).
constexpr int64_t kDotBlockK = 512;
static_assert(kDotBlockK % 128 == 0, "a scale group must not straddle blocks");

// Rows of a tile of `tokens` tokens: tokens × rows accumulators, the
// tokens' x vectors and one weight vector fit the 32 vector registers.
constexpr int dot_rows(int tokens) { return tokens <= 4 ? kDotRows : tokens <= 6 ? 4 : 3; }
// The most tokens of a tile over a quantized format's dequantized scratch.
constexpr int kQuantizedTileTokens = 4;
static_assert(7 * dot_rows(7) + 7 + 1 <= 32 && 6 * dot_rows(6) + 6 + 1 <= 32,
              "a tile's accumulators, x vectors and weight vector fit in registers");

// The weights the next tile reads (the rows after this tile's, contiguous),
// requested into L2 while this tile runs: a share per 16 inputs, so all of
// them are on their way when it ends. A tile's few rows are as many
// interleaved streams, which the hardware prefetcher did not keep ahead of
// (80% of an fp32 7-token tile's samples waited on a weight load).
struct NextRows {
  const char* begin = nullptr;  // null: nothing to fetch
  const char* end = nullptr;
  int64_t step_bytes = 0;  // fetched per 16 inputs of this tile

  void fetch(int64_t step) const {
    if (begin == nullptr) return;
    const char* first = begin + step * step_bytes;
    for (int64_t b = 0; b < step_bytes; b += 64) {
      if (first + b < end) _mm_prefetch(first + b, _MM_HINT_T1);
    }
  }
};

// y[i][j] (+)= Σ_k x[i][k] · w[r0 + j][k0 + k] over k in [0, kw) for RM
// tokens (x[i] at x + i · x_stride) and RN rows (y[i][j] at y + i · y_stride
// + j): each weight vector is loaded once and used for every token of the
// tile. w is a dense format (widened in registers).
template <WeightFormat F, int RM, int RN>
void dot_tile(const PackedSource& w, int64_t r0, int64_t k0, const float* x, int64_t x_stride,
              int64_t kw, float* y, int64_t y_stride, bool accumulate, const NextRows& next) {
  __m512 acc[RM][RN];
  for (int i = 0; i < RM; ++i)
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= kw; k += 16) {
    next.fetch(k / 16);
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_loadu_ps(x + i * x_stride + k);
    for (int j = 0; j < RN; ++j) {
      const __m512 wv = load16<F, true>(w, r0 + j, k0 + k, 16);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (k < kw) {
    const __mmask16 mask = mask16(kw - k);
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_maskz_loadu_ps(mask, x + i * x_stride + k);
    for (int j = 0; j < RN; ++j) {
      const __m512 wv = load16<F>(w, r0 + j, k0 + k, kw - k);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  store_tile<RM, RN>(acc, y, y_stride, accumulate);
}

using DotTileFn = void (*)(const PackedSource&, int64_t, int64_t, const float*, int64_t, int64_t,
                           float*, int64_t, bool, const NextRows&);

// The tile of every token count and of up to dot_rows(tokens) rows (fewer
// at the last rows). Built at compile time, so the table needs no
// initializer at start-up (which would run before any CPU check).
template <WeightFormat F>
struct DotTiles {
  DotTileFn fns[kDotTokens + 1][kDotRows + 1] = {};
  constexpr DotTiles() { fill<1, 1>(); }
  template <int RM, int RN>
  constexpr void fill() {
    fns[RM][RN] = &dot_tile<F, RM, RN>;
    if constexpr (RN < dot_rows(RM)) {
      fill<RM, RN + 1>();
    } else if constexpr (RM < kDotTokens) {
      fill<RM + 1, 1>();
    }
  }
};

// q4_g128 inputs [k, k + 32) of row r (k a multiple of 32, so one group) as
// fp32 into out: one 16-byte load for 32 inputs, where two load16 calls
// take two 8-byte loads and twice the unpacking (a third of the time at 2
// tokens).
inline void dequantize_q4x32(const PackedSource& w, int64_t r, int64_t k, float* out) {
  const int64_t groups = (w.cols + 127) / 128;
  const auto* p = static_cast<const uint8_t*>(w.values) + r * ((w.cols + 1) / 2) + k / 2;
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i low_mask = _mm_set1_epi8(0x0f);
  const __m128i low = _mm_and_si128(raw, low_mask);                      // even inputs
  const __m128i high = _mm_and_si128(_mm_srli_epi16(raw, 4), low_mask);  // odd inputs
  const __m512 scale =
      _mm512_set1_ps(_cvtsh_ss(static_cast<const uint16_t*>(w.scales)[r * groups + k / 128]));
  const __m512i eight = _mm512_set1_epi32(8);
  const __m512i first = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(low, high)), eight);
  const __m512i second =
      _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_unpackhi_epi8(low, high)), eight);
  _mm512_store_ps(out, _mm512_mul_ps(_mm512_cvtepi32_ps(first), scale));
  _mm512_store_ps(out + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(second), scale));
}

constexpr bool is_dense(WeightFormat f) {
  return f == WeightFormat::kF32 || f == WeightFormat::kBF16 || f == WeightFormat::kF16;
}

// A few rows at a time, each walked from its first input to its last, one
// tile taking every token: each weight is loaded once, and the rows stream
// from memory in order, as in decode. (With the inputs in the outer loop
// and a tile per 4 tokens, every block of 512 inputs jumped to the next row
// after 2 KB of each; at Qwen2.5-0.5B's shapes, 2 to 7 tokens of f32, f16
// and bf16 weights from memory take 0.45-1.08 of that time this way,
// quant_matmul_bench. fp32 still reads them at about half the decode
// kernel's bandwidth: see LIMITATIONS.md.) Dense formats are widened in registers by the
// tile; a quantized format is dequantized once per block of kDotBlockK
// inputs into an fp32 scratch that the tile reads (dequantizing inside the
// tile cost more at 4 to 7 tokens). From that L1 scratch the dot products,
// not memory, set the pace, and tiles of at most kQuantizedTileTokens
// tokens × 6 rows do better than one of every token × 3 (7 tokens, q4_g128
// 896 x 896: 70 against 109 µs).
template <WeightFormat F>
void gemm_dot(const PackedSource& w, const float* x, float* y, int64_t row_begin, int64_t row_end,
              int64_t token_begin, int64_t token_end) {
  constexpr WeightFormat kTileFormat = is_dense(F) ? F : WeightFormat::kF32;
  static constexpr DotTiles<kTileFormat> tiles;
  alignas(64) float scratch[is_dense(F) ? 1 : kDotRows * kDotBlockK];
  const auto tokens = static_cast<int>(token_end - token_begin);  // < kPackFromTokens
  const int tile_tokens = is_dense(F) ? tokens : std::min(tokens, kQuantizedTileTokens);
  const int tile_rows = dot_rows(tile_tokens);
  for (int64_t r = row_begin; r < row_end; r += tile_rows) {
    const auto rn = static_cast<int>(min64(tile_rows, row_end - r));
    const int64_t block = is_dense(F) ? w.cols : kDotBlockK;
    for (int64_t k0 = 0; k0 < w.cols; k0 += block) {
      const int64_t kw = min64(block, w.cols - k0);
      // The tiles' weights: rows r .. r + rn of w at k0, or of the scratch at 0.
      PackedSource rows = w;
      int64_t row0 = r, col0 = k0;
      NextRows next;
      if constexpr (is_dense(F)) {
        constexpr int64_t kElementBytes = F == WeightFormat::kF32 ? 4 : 2;
        const int64_t row_bytes = w.cols * kElementBytes;
        const auto* values = static_cast<const char*>(w.values);
        const int64_t next_rows = min64(tile_rows, w.rows - (r + rn));
        next = {values + (r + rn) * row_bytes, values + (r + rn + next_rows) * row_bytes,
                next_rows * 16 * kElementBytes};
      } else {
        // Whole vectors with unmasked loads: masked loads of weights coming
        // from memory stalled this loop (80% of its samples at 2 tokens).
        for (int j = 0; j < rn; ++j) {
          float* out = scratch + j * kDotBlockK;
          int64_t k = 0;
          if constexpr (F == WeightFormat::kQ4G128) {
            for (; k + 32 <= kw; k += 32) dequantize_q4x32(w, r + j, k0 + k, out + k);
          }
          for (; k + 16 <= kw; k += 16)
            _mm512_store_ps(out + k, load16<F, true>(w, r + j, k0 + k, 16));
          if (k < kw) _mm512_store_ps(out + k, load16<F>(w, r + j, k0 + k, kw - k));
        }
        rows = {WeightFormat::kF32, scratch, nullptr, kDotRows, kDotBlockK};
        row0 = col0 = 0;
      }
      for (int64_t t = token_begin; t < token_end; t += tile_tokens) {
        const auto rm = static_cast<int>(min64(tile_tokens, token_end - t));
        tiles.fns[rm][rn](rows, row0, col0, x + t * w.cols + k0, w.cols, kw, y + t * w.rows + r,
                          w.rows, k0 > 0, next);
      }
    }
  }
}

}  // namespace

// ---- The family's entry: packed panels or dot-product tiles per token block ----

template <WeightFormat F>
void gemm_packed(const PackedSource& w, const float* x, float* y, int64_t row_begin,
                 int64_t row_end, int64_t token_begin, int64_t token_end, const PackedNext& next) {
  if (token_end - token_begin < kPackFromTokens) {
    return gemm_dot<F>(w, x, y, row_begin, row_end, token_begin, token_end);
  }
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

template void gemm_packed<WeightFormat::kF32>(const PackedSource&, const float*, float*, int64_t,
                                              int64_t, int64_t, int64_t, const PackedNext&);
template void gemm_packed<WeightFormat::kBF16>(const PackedSource&, const float*, float*, int64_t,
                                               int64_t, int64_t, int64_t, const PackedNext&);
template void gemm_packed<WeightFormat::kF16>(const PackedSource&, const float*, float*, int64_t,
                                              int64_t, int64_t, int64_t, const PackedNext&);
template void gemm_packed<WeightFormat::kQ8Row>(const PackedSource&, const float*, float*, int64_t,
                                                int64_t, int64_t, int64_t, const PackedNext&);
template void gemm_packed<WeightFormat::kQ8G128>(const PackedSource&, const float*, float*, int64_t,
                                                 int64_t, int64_t, int64_t, const PackedNext&);
template void gemm_packed<WeightFormat::kQ4G128>(const PackedSource&, const float*, float*, int64_t,
                                                 int64_t, int64_t, int64_t, const PackedNext&);

}  // namespace tc::kernels::avx512
TC_ISA_END
