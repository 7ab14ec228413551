// AVX-512 GEMM micro-kernels for the dense formats, in an AVX-512 region
// (core/isa_region.h), entered only after a run-time CPU check.
// GCC 12's AVX-512 headers build "undefined" vectors by self-initialisation,
// which -Wuninitialized reports at every inlined intrinsic (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "core/isa_region.h"
#include "kernels/cpu/avx512_common.h"
#include "kernels/cpu/gemm.h"

TC_ISA_AVX512_BEGIN
namespace tc::kernels::avx512 {

namespace {

constexpr int kTileTokens = 4;    // RM: tokens per register tile
constexpr int kTileRows = 6;      // RN: weight rows per register tile (24 accumulators)
constexpr int64_t kBlockK = 512;  // reduction block: X block of n·512 floats stays in L2

template <DenseFormat F>
inline __m512 load_w(const void* base, int64_t offset) {
  if constexpr (F == DenseFormat::kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(base) + offset);
  } else if constexpr (F == DenseFormat::kBF16) {
    const __m256i raw = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + offset));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
  } else {
    const __m256i raw = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + offset));
    return _mm512_cvtph_ps(raw);
  }
}

template <DenseFormat F>
inline __m512 load_w_masked(const void* base, int64_t offset, __mmask16 mask) {
  if constexpr (F == DenseFormat::kF32) {
    return _mm512_maskz_loadu_ps(mask, static_cast<const float*>(base) + offset);
  } else if constexpr (F == DenseFormat::kBF16) {
    const __m256i raw = _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(base) + offset);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
  } else {
    const __m256i raw = _mm256_maskz_loadu_epi16(mask, static_cast<const uint16_t*>(base) + offset);
    return _mm512_cvtph_ps(raw);
  }
}

// acc[i][j] = Σ_k x[i][k] · w[j][k] over k in [k0, k1); adds into y when
// `accumulate` (later reduction blocks), else overwrites.
template <DenseFormat F, int RM, int RN>
void tile(const float* x, int64_t x_stride, const void* w, int64_t w_row0, int64_t cols, int64_t k0,
          int64_t k1, float* y, int64_t y_stride, bool accumulate) {
  __m512 acc[RM][RN];
  for (int i = 0; i < RM; ++i)
    for (int j = 0; j < RN; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = k0;
  for (; k + 16 <= k1; k += 16) {
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_loadu_ps(x + i * x_stride + k);
    for (int j = 0; j < RN; ++j) {
      const __m512 wv = load_w<F>(w, (w_row0 + j) * cols + k);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  if (k < k1) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (k1 - k)) - 1u);
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_maskz_loadu_ps(mask, x + i * x_stride + k);
    for (int j = 0; j < RN; ++j) {
      const __m512 wv = load_w_masked<F>(w, (w_row0 + j) * cols + k, mask);
      for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
    }
  }
  store_tile<RM, RN>(acc, y, y_stride, accumulate);
}

template <DenseFormat F, int RM, int RN>
void tile_entry(const float* x, int64_t x_stride, const void* w, int64_t w_row0, int64_t cols,
                int64_t k0, int64_t k1, float* y, int64_t y_stride, bool accumulate) {
  tile<F, RM, RN>(x, x_stride, w, w_row0, cols, k0, k1, y, y_stride, accumulate);
}

using TileFn = void (*)(const float*, int64_t, const void*, int64_t, int64_t, int64_t, int64_t,
                        float*, int64_t, bool);

// Edge tiles (fewer tokens or rows left) use smaller instantiations.
template <DenseFormat F>
struct TileTable {
  TileFn fns[kTileTokens + 1][kTileRows + 1] = {};
  constexpr TileTable() { fill<1>(); }
  template <int RM>
  constexpr void fill() {
    fill_rows<RM, 1>();
    if constexpr (RM < kTileTokens) fill<RM + 1>();
  }
  template <int RM, int RN>
  constexpr void fill_rows() {
    fns[RM][RN] = &tile_entry<F, RM, RN>;
    if constexpr (RN < kTileRows) fill_rows<RM, RN + 1>();
  }
};

template <DenseFormat F>
void gemm_rows_format(const void* w, int64_t cols, const float* x, int64_t n, float* y,
                      int64_t rows, int64_t row_begin, int64_t row_end) {
  static constexpr TileTable<F> table;
  for (int64_t k0 = 0; k0 < cols; k0 += kBlockK) {
    const int64_t k1 = k0 + kBlockK < cols ? k0 + kBlockK : cols;
    const bool accumulate = k0 > 0;
    for (int64_t r = row_begin; r < row_end; r += kTileRows) {
      const int rn = static_cast<int>(row_end - r < kTileRows ? row_end - r : kTileRows);
      for (int64_t t = 0; t < n; t += kTileTokens) {
        const int rm = static_cast<int>(n - t < kTileTokens ? n - t : kTileTokens);
        table.fns[rm][rn](x + t * cols, cols, w, r, cols, k0, k1, y + t * rows + r, rows,
                          accumulate);
      }
    }
  }
}

}  // namespace

void gemm_rows(DenseFormat format, const void* w, int64_t cols, const float* x, int64_t n, float* y,
               int64_t rows, int64_t row_begin, int64_t row_end) {
  switch (format) {
    case DenseFormat::kF32:
      return gemm_rows_format<DenseFormat::kF32>(w, cols, x, n, y, rows, row_begin, row_end);
    case DenseFormat::kBF16:
      return gemm_rows_format<DenseFormat::kBF16>(w, cols, x, n, y, rows, row_begin, row_end);
    case DenseFormat::kF16:
      return gemm_rows_format<DenseFormat::kF16>(w, cols, x, n, y, rows, row_begin, row_end);
  }
}

}  // namespace tc::kernels::avx512
TC_ISA_END
