// AVX-512 tiles of prefill attention (see attention_prefill.h), in an
// AVX-512 region (core/isa_region.h), entered only after a run-time CPU check.
// GCC 12's AVX-512 headers trip -Wuninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "core/isa_region.h"
#include "kernels/cpu/attention_prefill.h"

TC_ISA_AVX512_BEGIN
namespace tc::kernels::avx512 {

namespace {

// Rows per register tile: 6 rows × up to 4 vectors = 24 accumulators, the
// shape of the packed GEMM's tile.
constexpr int kRows = 6;

// Both products are C[M][NV·16] (+)= Σ_k A[i][k] · B[k][0 .. NV·16): Q·Kᵀ
// with A = the queries and B = the transposed keys (k over the head
// dimension), P·V with A = the probabilities and B = the value rows (k over
// the keys). Per k: NV loads of B, one broadcast of A per row, M·NV FMAs.
template <int M, int NV>
void outer_tile(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t steps, float* c,
                int64_t ldc, bool accumulate) {
  __m512 acc[M][NV];
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[i][v] = accumulate ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps();
  for (int64_t k = 0; k < steps; ++k) {
    __m512 bk[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bk[v] = _mm512_loadu_ps(b + k * ldb + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m512 w = _mm512_set1_ps(a[i * lda + k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(w, bk[v], acc[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);
}

// The tiles for M = 1 .. kRows rows (index M - 1), NV = 1 .. 4 vectors (NV - 1).
using TileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t,
                        bool);
template <int M>
constexpr TileFn kTileRow[4] = {outer_tile<M, 1>, outer_tile<M, 2>, outer_tile<M, 3>,
                                outer_tile<M, 4>};
constexpr const TileFn* kTiles[kRows] = {kTileRow<1>, kTileRow<2>, kTileRow<3>,
                                         kTileRow<4>, kTileRow<5>, kTileRow<6>};

// C[rows][cols] (+)= A · B in tiles of kRows rows and up to 64 columns; cols
// a multiple of 16.
void outer_product(const float* a, int64_t lda, int64_t rows, const float* b, int64_t ldb,
                   int64_t steps, float* c, int64_t ldc, int64_t cols, bool accumulate) {
  for (int64_t r = 0; r < rows; r += kRows) {
    const int64_t m = rows - r < kRows ? rows - r : kRows;
    for (int64_t col = 0; col < cols; col += 64) {
      const int64_t vectors = cols - col >= 64 ? 4 : (cols - col) / 16;
      kTiles[m - 1][vectors - 1](a + r * lda, lda, b + col, ldb, steps, c + r * ldc + col, ldc,
                                 accumulate);
    }
  }
}

}  // namespace

void prefill_scores(const float* q, int64_t rows, int64_t dim, const float* kt, int64_t ldk,
                    int64_t width, float* s, int64_t lds) {
  outer_product(q, dim, rows, kt, ldk, dim, s, lds, width, false);
}

void prefill_pv(const float* p, int64_t ldp, int64_t rows, const float* v, int64_t ldv,
                int64_t count, float* o, int64_t dim) {
  outer_product(p, ldp, rows, v, ldv, count, o, dim, dim, true);
}

}  // namespace tc::kernels::avx512
TC_ISA_END
