// AVX-512 decode attention steps (see attention_decode.h), in an AVX-512
// region (core/isa_region.h), entered only after a run-time CPU check.
//
// Per key block, for the group of query heads that share one kv head:
//  - keys as rows (decode_row_block): each (head, key) dot product
//    accumulates in one vector over the head dimension, and 16 of them are
//    reduced together into one vector of 16 scores (45 instructions, where
//    16 separate horizontal sums take about 130). Against the AVX2 path this
//    halves the instructions per key (decode at long contexts was bound by
//    them: 61 GFLOP/s on one thread at 2048 keys). Head dims 64 and 128 get
//    their own instantiation: with the dimension a constant, GCC schedules
//    the score loop with far fewer spills (2048 keys, one thread: 85 → 72 µs
//    per layer).
//  - a cache's KV tiles (decode_tile_block, fp32, fp16 or int8): keys
//    arrive as dim rows of 32 keys (attention.h), so one FMA scores 16 keys
//    for one head and nothing is reduced; fp16 and int8 keys and values are
//    widened in registers, never into memory, and int8's per-position
//    scales are applied to the 32 scores and the 32 p of a block, not to
//    each element.
//  - softmax: per head, on the two vectors of 16 scores, with a vectorized
//    e^x that computes exactly what the AVX2 one in fast_exp.h does;
//  - P·V: rows of heads × dims of accumulators in registers, each value row
//    loaded once per tile of heads.
//
// One fp16 block of 7 heads × 32 keys (Qwen2.5-0.5B's group) took about
// 1100 cycles from L1 where widening it and running the fp32 step took
// about 1800; streaming 48 layers of 2048 keys from memory on one thread,
// 600 ns per block of both kv heads against 1365 (the prefetches spread
// through the score and P·V loops, one cache line per iteration, are what
// hid the memory: requested in one burst per block it was 1040 ns).

// GCC 12's AVX-512 headers trip -Wuninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
#include <type_traits>

#include "core/isa_region.h"
#include "kernels/cpu/attention_decode.h"
#include "kernels/cpu/avx512_common.h"
#include "kernels/cpu/fast_exp_constants.h"

TC_ISA_AVX512_BEGIN
namespace tc::kernels::avx512 {

namespace {

// The step works on two vectors of 16 scores per head.
static_assert(kDecodeBlockKeys == 32, "decode_row_block handles blocks of 32 keys");

// e^x with the same range reduction, polynomial and constants as avx2::exp8
// (fast_exp.h), 16 lanes; only the last step, p · 2^n, is one vscalefps
// where avx2::exp8 builds 2^n from integer shifts (the same result, see below).
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
  return sum16<Float32Lanes>(acc);
}

inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
// Prefetches the cache lines of [p, p + Bytes) (a whole number of lines from p).
template <size_t Bytes>
inline void prefetch_lines(const void* p) {
#pragma GCC unroll 4
  for (size_t b = 0; b < Bytes; b += 64) _mm_prefetch(static_cast<const char*>(p) + b, _MM_HINT_T0);
}
inline __m512 load16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 load16(const int8_t* p) {
  return _mm512_cvtepi32_ps(
      _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

// o[i·dim + c·16 ..] += Σ_{j<count} p[i·kDecodeBlockKeys + j] · v[j·ld + c·16 ..]
// for M rows and NV vectors of output dims; v fp32, or fp16 widened in
// registers. next_v (or null): the same dims of a later block's rows,
// prefetched a row per iteration.
template <int M, int NV, typename T>
inline void pv_tile(const float* p, const T* v, int64_t ld, int64_t count, float* o, int64_t dim,
                    const T* next_v) {
  __m512 acc[M][NV];
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) acc[i][c] = _mm512_loadu_ps(o + i * dim + c * 16);
  for (int64_t j = 0; j < count; ++j) {
    if (next_v != nullptr) prefetch_lines<NV * 16 * sizeof(T)>(next_v + j * ld);
    __m512 vj[NV];
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) vj[c] = load16(v + j * ld + c * 16);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m512 w = _mm512_set1_ps(p[i * kDecodeBlockKeys + j]);
#pragma GCC unroll 4
      for (int c = 0; c < NV; ++c) acc[i][c] = _mm512_fmadd_ps(w, vj[c], acc[i][c]);
    }
  }
#pragma GCC unroll 8
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
        pv_tile<M, 4, float>(p, v + c, ld, count, o + c, dim, nullptr);
        break;
      case 3:
        pv_tile<M, 3, float>(p, v + c, ld, count, o + c, dim, nullptr);
        break;
      case 2:
        pv_tile<M, 2, float>(p, v + c, ld, count, o + c, dim, nullptr);
        break;
      default:
        pv_tile<M, 1, float>(p, v + c, ld, count, o + c, dim, nullptr);
        break;
    }
  }
}

// The online-softmax step of one query row on its scores s0 (keys 0..15)
// and s1 (keys 16..31) of a block of `count` keys: m = max(m, max s);
// p = e^(s - m) into p[0..32) (0 past count); the row's 16 lane sums of l
// and its o[0, dim) rescaled by e^(m_old - m) when the max grows.
inline __attribute__((always_inline)) void softmax_row(__m512 s0, __m512 s1, int64_t count,
                                                       float* m, float* l_lanes, float* o,
                                                       int64_t dim, float* p) {
  const __m512 minus_inf = _mm512_set1_ps(-__builtin_inff());
  const __mmask16 valid0 = mask16(count), valid1 = mask16(count - 16);
  const __m512 block_max = _mm512_max_ps(_mm512_mask_blend_ps(valid0, minus_inf, s0),
                                         _mm512_mask_blend_ps(valid1, minus_inf, s1));
  const float old_max = *m;
  // Past the first blocks the running max rarely moves; the horizontal
  // max is taken only when some score exceeds it.
  float new_max = old_max;
  if (_mm512_cmp_ps_mask(block_max, _mm512_set1_ps(old_max), _CMP_GT_OQ) != 0) {
    const float row_max = _mm512_reduce_max_ps(block_max);
    new_max = old_max > row_max ? old_max : row_max;
  }
  const __m512 shift = _mm512_set1_ps(new_max);
  // Lanes past count may hold anything (a key tile's unused slots, even
  // NaN); the zeroing masks make them 0.
  const __m512 p0 = _mm512_maskz_mov_ps(valid0, exp_avx512(_mm512_sub_ps(s0, shift)));
  const __m512 p1 = _mm512_maskz_mov_ps(valid1, exp_avx512(_mm512_sub_ps(s1, shift)));
  _mm512_storeu_ps(p, p0);
  _mm512_storeu_ps(p + 16, p1);
  // e^-inf = 0 on the first block; the vector exp in lane 0 avoids a libm
  // call per row and block.
  const float alpha =
      old_max == new_max ? 1.0f : _mm512_cvtss_f32(exp_avx512(_mm512_set1_ps(old_max - new_max)));
  // l stays 16 partial sums per row until the caller adds them up: a
  // horizontal sum per row and block cost 4% of the block (one block in L1).
  _mm512_storeu_ps(l_lanes, _mm512_fmadd_ps(_mm512_loadu_ps(l_lanes), _mm512_set1_ps(alpha),
                                            _mm512_add_ps(p0, p1)));
  *m = new_max;
  if (alpha != 1.0f) {
    const __m512 a = _mm512_set1_ps(alpha);
    for (int64_t d = 0; d < dim; d += 16)
      _mm512_storeu_ps(o + d, _mm512_mul_ps(a, _mm512_loadu_ps(o + d)));
  }
}

// D: the head dimension when known at compile time (0: use dim_arg).
template <int64_t D>
void decode_block(const float* qs, int64_t group, int64_t dim_arg, const float* k, const float* v,
                  int64_t ld, int64_t count, float* s, float* o, float* m, float* l_lanes,
                  const float* next_k, const float* next_v, int64_t next_count) {
  const int64_t dim = D != 0 ? D : dim_arg;
  const int64_t rows_per_head = (next_count + group - 1) / group;
  const __m512 minus_inf = _mm512_set1_ps(-__builtin_inff());
  for (int64_t h = 0; h < group; ++h) {
    for (int64_t j = h * rows_per_head; j < next_count && j < (h + 1) * rows_per_head; ++j) {
      for (int64_t d = 0; d < dim; d += 16) {
        _mm_prefetch(reinterpret_cast<const char*>(next_k + j * ld + d), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(next_v + j * ld + d), _MM_HINT_T0);
      }
    }
    const float* q = qs + h * dim;
    const __m512 s0 = scores16(q, dim, k, ld, count < 16 ? count : 16);
    const __m512 s1 = count > 16 ? scores16(q, dim, k + 16 * ld, ld, count - 16) : minus_inf;
    softmax_row(s0, s1, count, m + h, l_lanes + h * 16, o + h * dim, dim, s + h * kDecodeBlockKeys);
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

// M query rows (M <= 8) of one block: scores from the key tile, the softmax
// step per row, then P·V 32 dims at a time (M × 2 accumulators). T: float,
// fp16 (uint16_t) or int8 keys and values; for int8, the block's 32 key and
// 32 value scales (null otherwise). next_tile / next_v (or null): a tile
// and value rows further on in the cache, prefetched a tile row and a value
// row per score and P·V iteration.
template <int M, int64_t D, typename T>
void rows_tile(const float* qs, int64_t dim_arg, const T* tile, const T* v, int64_t ld,
               const uint16_t* key_scales, const uint16_t* value_scales, int64_t count, float* s,
               float* o, float* m, float* l_lanes, const T* next_tile, const T* next_v) {
  const int64_t dim = D != 0 ? D : dim_arg;
  __m512 acc[M][2];
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t d = 0; d < dim; ++d) {
    if (next_tile != nullptr)
      prefetch_lines<kDecodeBlockKeys * sizeof(T)>(next_tile + d * kDecodeBlockKeys);
    const __m512 k0 = load16(tile + d * kDecodeBlockKeys);
    const __m512 k1 = load16(tile + d * kDecodeBlockKeys + 16);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m512 qd = _mm512_set1_ps(qs[i * dim + d]);
      acc[i][0] = _mm512_fmadd_ps(qd, k0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(qd, k1, acc[i][1]);
    }
  }
  if constexpr (std::is_same_v<T, int8_t>) {
    const __m512 scale0 = load16(key_scales), scale1 = load16(key_scales + 16);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      acc[i][0] = _mm512_mul_ps(acc[i][0], scale0);
      acc[i][1] = _mm512_mul_ps(acc[i][1], scale1);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i)
    softmax_row(acc[i][0], acc[i][1], count, m + i, l_lanes + i * 16, o + i * dim, dim,
                s + i * kDecodeBlockKeys);
  if constexpr (std::is_same_v<T, int8_t>) {
    const __m512 scale0 = load16(value_scales), scale1 = load16(value_scales + 16);
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      float* p = s + i * kDecodeBlockKeys;
      _mm512_storeu_ps(p, _mm512_mul_ps(_mm512_loadu_ps(p), scale0));
      _mm512_storeu_ps(p + 16, _mm512_mul_ps(_mm512_loadu_ps(p + 16), scale1));
    }
  }
  int64_t c = 0;
  for (; c + 32 <= dim; c += 32)
    pv_tile<M, 2, T>(s, v + c, ld, count, o + c, dim, next_v ? next_v + c : nullptr);
  if (c < dim) pv_tile<M, 1, T>(s, v + c, ld, count, o + c, dim, next_v ? next_v + c : nullptr);
}

// The group in tiles of up to 8 rows (16 score accumulators); the first
// tile prefetches ahead, the others reread this block from L1.
template <int64_t D, typename T>
void tile_block(const float* qs, int64_t group, int64_t dim, const T* tile, const T* v, int64_t ld,
                const uint16_t* key_scales, const uint16_t* value_scales, int64_t count, float* s,
                float* o, float* m, float* l_lanes, const T* next_tile, const T* next_v) {
  using RowsFn =
      void (*)(const float*, int64_t, const T*, const T*, int64_t, const uint16_t*, const uint16_t*,
               int64_t, float*, float*, float*, float*, const T*, const T*);
  static constexpr RowsFn kRows[8] = {rows_tile<1, D, T>, rows_tile<2, D, T>, rows_tile<3, D, T>,
                                      rows_tile<4, D, T>, rows_tile<5, D, T>, rows_tile<6, D, T>,
                                      rows_tile<7, D, T>, rows_tile<8, D, T>};
  for (int64_t h = 0; h < group; h += 8) {
    const int64_t rows = group - h < 8 ? group - h : 8;
    const bool first = h == 0;
    kRows[rows - 1](qs + h * dim, dim, tile, v, ld, key_scales, value_scales, count,
                    s + h * kDecodeBlockKeys, o + h * dim, m + h, l_lanes + h * 16,
                    first ? next_tile : nullptr, first ? next_v : nullptr);
  }
}

template <typename T>
void tile_block_dispatch(const float* qs, int64_t group, int64_t dim, const T* tile, const T* v,
                         int64_t ld, const uint16_t* key_scales, const uint16_t* value_scales,
                         int64_t count, float* s, float* o, float* m, float* l_lanes,
                         const T* next_tile, const T* next_v) {
  switch (dim) {
    case 64:
      return tile_block<64, T>(qs, group, dim, tile, v, ld, key_scales, value_scales, count, s, o,
                               m, l_lanes, next_tile, next_v);
    case 128:
      return tile_block<128, T>(qs, group, dim, tile, v, ld, key_scales, value_scales, count, s, o,
                                m, l_lanes, next_tile, next_v);
    default:
      return tile_block<0, T>(qs, group, dim, tile, v, ld, key_scales, value_scales, count, s, o, m,
                              l_lanes, next_tile, next_v);
  }
}

}  // namespace

void decode_row_block(const float* qs, int64_t group, int64_t dim, const float* k, const float* v,
                      int64_t ld, int64_t count, float* s, float* o, float* m, float* l_lanes,
                      const float* next_k, const float* next_v, int64_t next_count) {
  switch (dim) {
    case 64:
      return decode_block<64>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes, next_k, next_v,
                              next_count);
    case 128:
      return decode_block<128>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes, next_k, next_v,
                               next_count);
    default:
      return decode_block<0>(qs, group, dim, k, v, ld, count, s, o, m, l_lanes, next_k, next_v,
                             next_count);
  }
}

void decode_tile_block(const float* qs, int64_t group, int64_t dim, const uint16_t* tile,
                       const uint16_t* v, int64_t ld, int64_t count, float* s, float* o, float* m,
                       float* l_lanes, const uint16_t* next_tile, const uint16_t* next_v) {
  tile_block_dispatch(qs, group, dim, tile, v, ld, nullptr, nullptr, count, s, o, m, l_lanes,
                      next_tile, next_v);
}

void decode_tile_block(const float* qs, int64_t group, int64_t dim, const float* tile,
                       const float* v, int64_t ld, int64_t count, float* s, float* o, float* m,
                       float* l_lanes, const float* next_tile, const float* next_v) {
  tile_block_dispatch(qs, group, dim, tile, v, ld, nullptr, nullptr, count, s, o, m, l_lanes,
                      next_tile, next_v);
}

void decode_tile_block(const float* qs, int64_t group, int64_t dim, const int8_t* tile,
                       const int8_t* v, const uint16_t* key_scales, const uint16_t* value_scales,
                       int64_t count, float* s, float* o, float* m, float* l_lanes,
                       const int8_t* next_tile, const int8_t* next_v) {
  tile_block_dispatch(qs, group, dim, tile, v, dim, key_scales, value_scales, count, s, o, m,
                      l_lanes, next_tile, next_v);
}

}  // namespace tc::kernels::avx512
TC_ISA_END
