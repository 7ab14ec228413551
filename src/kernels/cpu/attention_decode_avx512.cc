// AVX-512 decode attention step (see attention_decode.h). Compiled with the
// AVX-512 flags of the other kernel files, entered after a run-time check,
// and using no STL or other shared inline code.
//
// Per key block, for a group of query heads that share one kv head:
//  - scores: each (head, key) dot product accumulates in one vector over
//    the head dimension, and 16 of them are reduced together into one
//    vector of 16 scores (45 instructions, where 16 separate horizontal sums
//    take about 130);
//  - softmax: per head, on those vectors, with a vectorized e^x that
//    computes exactly what the AVX2 one in fast_exp.h does;
//  - P·V: up to 4 heads × 64 dims of accumulators in registers, each value
//    row loaded once per 4 heads.
// Against the AVX2 path this halves the instructions per key; decode at
// long contexts was bound by them (measured before: 61 GFLOP/s on one
// thread at 2048 keys). Head dims 64 and 128 get their own instantiation:
// with the dimension a constant, GCC schedules the score loop with far
// fewer spills (2048 keys, one thread: 85 → 72 µs per layer).
//
// Scoring two heads per key load is used only for blocks already in L1 (the
// fp16 cache, widened): it is 15% faster while the cache sits in L3 but was
// 25% slower streaming fp32 from memory, for reasons not found. All scores
// before all softmax steps was tried and gained nothing.
// GCC 12's AVX-512 headers trip -Wuninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/cpu/attention_decode.h"
#include "kernels/cpu/avx512_common.h"
#include "kernels/cpu/fast_exp_constants.h"

namespace tc::kernels {

namespace {

// The step works on two vectors of 16 scores per head.
static_assert(kDecodeBlockKeys == 32, "decode_block_avx512 handles blocks of 32 keys");

using avx512::mask16;

// e^x with the same range reduction, polynomial and constants as exp_avx2
// (fast_exp.h), 16 lanes; only the last step, p · 2^n, is one vscalefps
// where exp_avx2 builds 2^n from integer shifts (the same result, see below).
// Kept a twin rather than shared: fast_exp.h's inline code is built for AVX2.
inline __m512 exp_avx512(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(exp_constants::kLowest), x);
  x = _mm512_min_ps(_mm512_set1_ps(exp_constants::kHighest), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(exp_constants::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(exp_constants::kLn2High), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(exp_constants::kLn2Low), r);
  __m512 p = _mm512_set1_ps(exp_constants::kP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_constants::kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_constants::kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_constants::kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_constants::kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_constants::kP5));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  // p · 2^n in one instruction, rounded once as the AVX2 twin's two exact
  // power-of-two products are (where the result is normal; in the subnormal
  // range both round the exact product once).
  return _mm512_scalef_ps(p, n);
}

// Scores of one query row against keys [0, count) (count <= 16); lanes past
// count are 0. The unroll pragmas keep the 16 accumulators in registers.
inline __attribute__((always_inline)) __m512 scores16(const float* q, int64_t dim, const float* k,
                                                      int64_t ld, int64_t count) {
  __m512 acc[16];
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  if (count == 16) {
    for (int64_t d = 0; d < dim; d += 16) {
      const __m512 qd = _mm512_loadu_ps(q + d);
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j)
        acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(k + j * ld + d), qd, acc[j]);
    }
  } else {
    for (int64_t d = 0; d < dim; d += 16) {
      const __m512 qd = _mm512_loadu_ps(q + d);
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) {
        if (j < count) acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(k + j * ld + d), qd, acc[j]);
      }
    }
  }
  return avx512::sum16<avx512::Float32Lanes>(acc);
}

// Scores of two query rows against keys [0, count) (count <= 8): lanes 0..7
// hold qa · k[j], lanes 8..15 qb · k[j]; lanes past count are 0. Each key
// vector is loaded once for both rows.
inline __attribute__((always_inline)) __m512 scores2x8(const float* qa, const float* qb,
                                                       int64_t dim, const float* k, int64_t ld,
                                                       int64_t count) {
  __m512 acc[16];
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  if (count == 8) {
    for (int64_t d = 0; d < dim; d += 16) {
      const __m512 a = _mm512_loadu_ps(qa + d), b = _mm512_loadu_ps(qb + d);
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m512 kj = _mm512_loadu_ps(k + j * ld + d);
        acc[j] = _mm512_fmadd_ps(kj, a, acc[j]);
        acc[8 + j] = _mm512_fmadd_ps(kj, b, acc[8 + j]);
      }
    }
  } else {
    for (int64_t d = 0; d < dim; d += 16) {
      const __m512 a = _mm512_loadu_ps(qa + d), b = _mm512_loadu_ps(qb + d);
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        if (j < count) {
          const __m512 kj = _mm512_loadu_ps(k + j * ld + d);
          acc[j] = _mm512_fmadd_ps(kj, a, acc[j]);
          acc[8 + j] = _mm512_fmadd_ps(kj, b, acc[8 + j]);
        }
      }
    }
  }
  return avx512::sum16<avx512::Float32Lanes>(acc);
}

// o[i][c·16 ..] += Σ_{j<count} p[i·kDecodeBlockKeys + j] · v[j·ld + c·16 ..]
// for M rows and NV vectors of output dims.
template <int M, int NV>
inline void pv_tile(const float* p, const float* v, int64_t ld, int64_t count, float* o,
                    int64_t dim) {
  __m512 acc[M][NV];
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) acc[i][c] = _mm512_loadu_ps(o + i * dim + c * 16);
  for (int64_t j = 0; j < count; ++j) {
    __m512 vj[NV];
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) vj[c] = _mm512_loadu_ps(v + j * ld + c * 16);
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      const __m512 w = _mm512_set1_ps(p[i * kDecodeBlockKeys + j]);
#pragma GCC unroll 4
      for (int c = 0; c < NV; ++c) acc[i][c] = _mm512_fmadd_ps(w, vj[c], acc[i][c]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) _mm512_storeu_ps(o + i * dim + c * 16, acc[i][c]);
}

template <int M>
inline void pv_rows(const float* p, const float* v, int64_t ld, int64_t count, float* o,
                    int64_t dim) {
  for (int64_t c = 0; c < dim; c += 64) {
    switch ((dim - c) >= 64 ? 4 : (dim - c) / 16) {
      case 4:
        pv_tile<M, 4>(p, v + c, ld, count, o + c, dim);
        break;
      case 3:
        pv_tile<M, 3>(p, v + c, ld, count, o + c, dim);
        break;
      case 2:
        pv_tile<M, 2>(p, v + c, ld, count, o + c, dim);
        break;
      default:
        pv_tile<M, 1>(p, v + c, ld, count, o + c, dim);
        break;
    }
  }
}

// D: the head dimension when known at compile time (0: use dim_arg).
// Pairs: score two heads per key load (for blocks in L1, see the file comment).
template <int64_t D, bool Pairs>
void decode_block(const float* qs, int64_t group, int64_t dim_arg, const float* k, const float* v,
                  int64_t ld_arg, int64_t count, float* s, float* o, float* m, float* l_lanes,
                  const float* next_k, const float* next_v, int64_t next_count) {
  const int64_t dim = D != 0 ? D : dim_arg;
  // Blocks in L1 (Pairs) are widened one head after the other: rows dim apart.
  const int64_t ld = Pairs ? dim : ld_arg;
  const int64_t rows_per_head = (next_count + group - 1) / group;
  const __mmask16 valid0 = mask16(count), valid1 = mask16(count - 16);
  const __m512 minus_inf = _mm512_set1_ps(-__builtin_inff());
  for (int64_t h = 0; h < group; ++h) {
    for (int64_t j = h * rows_per_head; j < next_count && j < (h + 1) * rows_per_head; ++j) {
      for (int64_t d = 0; d < dim; d += 16) {
        _mm_prefetch(reinterpret_cast<const char*>(next_k + j * ld + d), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(next_v + j * ld + d), _MM_HINT_T0);
      }
    }
    const float* q = qs + h * dim;
    float* sh = s + h * kDecodeBlockKeys;
    __m512 s0, s1;
    if (Pairs && h % 2 == 0 && h + 1 < group) {
      // This head's scores and the next one's, into s; the next head reads its own back.
      for (int64_t j = 0; j < count; j += 8) {
        const __m512 r = scores2x8(q, q + dim, dim, k + j * ld, ld, count - j < 8 ? count - j : 8);
        _mm256_storeu_ps(sh + j, _mm512_castps512_ps256(r));
        _mm256_storeu_ps(sh + kDecodeBlockKeys + j,
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r), 1)));
      }
      s0 = _mm512_loadu_ps(sh);
      s1 = count > 16 ? _mm512_loadu_ps(sh + 16) : minus_inf;
    } else if (Pairs && h % 2 == 1) {
      s0 = _mm512_loadu_ps(sh);
      s1 = count > 16 ? _mm512_loadu_ps(sh + 16) : minus_inf;
    } else {
      s0 = scores16(q, dim, k, ld, count < 16 ? count : 16);
      s1 = count > 16 ? scores16(q, dim, k + 16 * ld, ld, count - 16) : minus_inf;
    }
    const __m512 block_max = _mm512_max_ps(_mm512_mask_blend_ps(valid0, minus_inf, s0),
                                           _mm512_mask_blend_ps(valid1, minus_inf, s1));
    const float old_max = m[h];
    // Past the first blocks the running max rarely moves; the horizontal
    // max is taken only when some score exceeds it.
    float new_max = old_max;
    if (_mm512_cmp_ps_mask(block_max, _mm512_set1_ps(old_max), _CMP_GT_OQ) != 0) {
      const float row_max = _mm512_reduce_max_ps(block_max);
      new_max = old_max > row_max ? old_max : row_max;
    }
    const __m512 shift = _mm512_set1_ps(new_max);
    const __m512 p0 = _mm512_maskz_mov_ps(valid0, exp_avx512(_mm512_sub_ps(s0, shift)));
    const __m512 p1 = _mm512_maskz_mov_ps(valid1, exp_avx512(_mm512_sub_ps(s1, shift)));
    _mm512_storeu_ps(sh, p0);
    _mm512_storeu_ps(sh + 16, p1);
    // e^-inf = 0 on the first block; the vector exp in lane 0 avoids a libm
    // call per row and block.
    const float alpha =
        old_max == new_max ? 1.0f : _mm512_cvtss_f32(exp_avx512(_mm512_set1_ps(old_max - new_max)));
    // l stays 16 partial sums per row until the caller adds them up: a
    // horizontal sum per row and block cost 4% of the block (one block in L1).
    float* lh = l_lanes + h * 16;
    _mm512_storeu_ps(
        lh, _mm512_fmadd_ps(_mm512_loadu_ps(lh), _mm512_set1_ps(alpha), _mm512_add_ps(p0, p1)));
    m[h] = new_max;
    if (alpha != 1.0f) {
      const __m512 a = _mm512_set1_ps(alpha);
      float* oh = o + h * dim;
      for (int64_t d = 0; d < dim; d += 16)
        _mm512_storeu_ps(oh + d, _mm512_mul_ps(a, _mm512_loadu_ps(oh + d)));
    }
  }
  // P·V, four query rows at a time.
  int64_t h = 0;
  for (; h + 4 <= group; h += 4)
    pv_rows<4>(s + h * kDecodeBlockKeys, v, ld, count, o + h * dim, dim);
  switch (group - h) {
    case 3:
      pv_rows<3>(s + h * kDecodeBlockKeys, v, ld, count, o + h * dim, dim);
      break;
    case 2:
      pv_rows<2>(s + h * kDecodeBlockKeys, v, ld, count, o + h * dim, dim);
      break;
    case 1:
      pv_rows<1>(s + h * kDecodeBlockKeys, v, ld, count, o + h * dim, dim);
      break;
    default:
      break;
  }
}

}  // namespace

void decode_block_avx512(const float* qs, int64_t group, int64_t dim, const float* k,
                         const float* v, int64_t ld, int64_t count, float* s, float* o, float* m,
                         float* l_lanes, const float* next_k, const float* next_v,
                         int64_t next_count) {
  const bool pairs = next_k == nullptr;
  switch (dim) {
    case 64:
      return pairs ? decode_block<64, true>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes,
                                            next_k, next_v, next_count)
                   : decode_block<64, false>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes,
                                             next_k, next_v, next_count);
    case 128:
      return pairs ? decode_block<128, true>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes,
                                             next_k, next_v, next_count)
                   : decode_block<128, false>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes,
                                              next_k, next_v, next_count);
    default:
      return pairs ? decode_block<0, true>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes,
                                           next_k, next_v, next_count)
                   : decode_block<0, false>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes,
                                            next_k, next_v, next_count);
  }
}

void widen_f16_heads_avx512(const uint16_t* src, int64_t stride, int64_t count, int64_t heads,
                            int64_t dim, int64_t ahead, int64_t ahead_count, float* dst) {
  const int64_t width = heads * dim;
  for (int64_t j = 0; j < count; ++j) {
    const uint16_t* row = src + j * stride;
    if (j < ahead_count) prefetch_bytes(row + ahead * stride, width * 2);
    for (int64_t h = 0; h < heads; ++h) {
      const uint16_t* in = row + h * dim;
      float* out = dst + (h * kDecodeBlockKeys + j) * dim;
      for (int64_t c = 0; c < dim; c += 16)
        _mm512_storeu_ps(
            out + c, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + c))));
    }
  }
}

}  // namespace tc::kernels
