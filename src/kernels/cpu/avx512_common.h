// Small AVX-512 helpers shared by the AVX-512 kernel files (gemv_avx512.cc,
// gemv_vnni_avx512.cc, gemm_packed_avx512.cc, attention_decode_avx512.cc,
// q8_dynamic_avx512.cc).
// They sit in an AVX-512 region of their own (core/isa_region.h), in
// namespace avx512, so they are AVX-512 code wherever they are included and
// only AVX-512 code calls them.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/isa_region.h"

TC_ISA_AVX512_BEGIN
namespace tc::kernels::avx512 {

// Sum of the 16 lanes. (GCC 12's _mm512_reduce_add_ps trips -Wuninitialized.)
inline float horizontal_sum(__m512 v) {
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));  // fold 256-bit halves
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xb1));  // fold 128-bit quarters
  __m128 q = _mm512_castps512_ps128(v);
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
  return _mm_cvtss_f32(q);
}

// The first `count` of 16 lanes (none for count <= 0).
inline __mmask16 mask16(int64_t count) {
  return count >= 16  ? static_cast<__mmask16>(0xffff)
         : count <= 0 ? static_cast<__mmask16>(0)
                      : static_cast<__mmask16>((1u << count) - 1u);
}

// [Σa, Σb, Σc, Σd] in 13 instructions (four separate reductions take 28):
// pairs interleave within 128-bit lanes, then the four lanes fold.
inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
  const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  // Per lane: [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d.
  __m512 v = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xb1));
  return _mm512_castps512_ps128(v);
}

// Writes (or adds) the lane sums of an RM × RN accumulator tile of a
// dot-product GEMM to y (token i, row j at y[i * y_stride + j]): four rows of
// a token at a time through sum4, the rest one by one.
template <int RM, int RN>
inline void store_tile(const __m512 (&acc)[RM][RN], float* y, int64_t y_stride, bool accumulate) {
  for (int i = 0; i < RM; ++i) {
    float* out = y + i * y_stride;
    int j = 0;
    for (; j + 4 <= RN; j += 4) {
      __m128 sums = sum4(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
      if (accumulate) sums = _mm_add_ps(sums, _mm_loadu_ps(out + j));
      _mm_storeu_ps(out + j, sums);
    }
    for (; j < RN; ++j) {
      const float sum = horizontal_sum(acc[i][j]);
      out[j] = accumulate ? out[j] + sum : sum;
    }
  }
}

// The lane operations sum16 needs, for fp32 lanes (Float32Lanes) or int32
// lanes (Int32Lanes): one add and the shuffles of each stage.
struct Float32Lanes {
  using Vector = __m512;
  static __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
  static __m512 lo32(__m512 a, __m512 b) { return _mm512_unpacklo_ps(a, b); }
  static __m512 hi32(__m512 a, __m512 b) { return _mm512_unpackhi_ps(a, b); }
  static __m512 lo64(__m512 a, __m512 b) {
    return _mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0));
  }
  static __m512 hi64(__m512 a, __m512 b) {
    return _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2));
  }
  template <int Imm>
  static __m512 lanes128(__m512 a, __m512 b) {
    return _mm512_shuffle_f32x4(a, b, Imm);
  }
};

struct Int32Lanes {
  using Vector = __m512i;
  static __m512i add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
  static __m512i lo32(__m512i a, __m512i b) { return _mm512_unpacklo_epi32(a, b); }
  static __m512i hi32(__m512i a, __m512i b) { return _mm512_unpackhi_epi32(a, b); }
  static __m512i lo64(__m512i a, __m512i b) { return _mm512_unpacklo_epi64(a, b); }
  static __m512i hi64(__m512i a, __m512i b) { return _mm512_unpackhi_epi64(a, b); }
  template <int Imm>
  static __m512i lanes128(__m512i a, __m512i b) {
    return _mm512_shuffle_i32x4(a, b, Imm);
  }
};

// Lane i of the result = Σ lanes of a[i]: sixteen reductions in 45
// instructions, where sixteen horizontal sums take about 130.
template <typename Lanes>
inline __attribute__((always_inline)) typename Lanes::Vector sum16(
    const typename Lanes::Vector (&a)[16]) {
  using V = typename Lanes::Vector;
  // Pairs of rows: per 128-bit lane [a0+a2, b0+b2, a1+a3, b1+b3].
  V b[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    b[i] = Lanes::add(Lanes::lo32(a[2 * i], a[2 * i + 1]), Lanes::hi32(a[2 * i], a[2 * i + 1]));
  }
  // Fours: per 128-bit lane, that lane's part of rows 4i .. 4i + 3.
  V c[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    c[i] = Lanes::add(Lanes::lo64(b[2 * i], b[2 * i + 1]), Lanes::hi64(b[2 * i], b[2 * i + 1]));
  }
  // Fold the four 128-bit lanes of each c[i] into lane i.
  const V s01 = Lanes::add(Lanes::template lanes128<0x44>(c[0], c[1]),
                           Lanes::template lanes128<0xee>(c[0], c[1]));
  const V s23 = Lanes::add(Lanes::template lanes128<0x44>(c[2], c[3]),
                           Lanes::template lanes128<0xee>(c[2], c[3]));
  return Lanes::add(Lanes::template lanes128<0x88>(s01, s23),
                    Lanes::template lanes128<0xdd>(s01, s23));
}

}  // namespace tc::kernels::avx512
TC_ISA_END
