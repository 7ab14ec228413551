// AVX-512 decode kernels (see gemv.h), in an AVX-512 region
// (core/isa_region.h), entered only after a run-time CPU check.
//
// Every kernel reads its rows one after the other, in address order, with a
// prefetch kStreamLead bytes ahead (see gemv_prefetch.h); each row keeps two
// accumulators so enough FMAs are in flight to cover their latency. The
// weights are the only stream from memory; x stays in L1.
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

// ---- formats read in plain order: 16 weights at a time --------------------------

// A loader reads 16 weights of its row from element c as fp32 (`part`: only
// the lanes in `mask`, the rest zero) and prefetches the stream ahead of 32
// elements' worth of the row.
struct F32Loader {
  const float* w;
  void prefetch32(int64_t c, const Stream& stream) const {
    stream.prefetch_ahead(w + c);
    stream.prefetch_ahead(w + c + 16);
  }
  __m512 full(int64_t c) const { return _mm512_loadu_ps(w + c); }
  __m512 part(int64_t c, __mmask16 mask) const { return _mm512_maskz_loadu_ps(mask, w + c); }
};

struct F16Loader {
  const uint16_t* w;
  void prefetch32(int64_t c, const Stream& stream) const { stream.prefetch_ahead(w + c); }
  __m512 full(int64_t c) const {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c)));
  }
  __m512 part(int64_t c, __mmask16 mask) const {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, w + c));
  }
};

struct BF16Loader {
  const uint16_t* w;
  void prefetch32(int64_t c, const Stream& stream) const { stream.prefetch_ahead(w + c); }
  static __m512 widen(__m256i raw) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
  }
  __m512 full(int64_t c) const {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c)));
  }
  __m512 part(int64_t c, __mmask16 mask) const {
    return widen(_mm256_maskz_loadu_epi16(mask, w + c));
  }
};

struct Q8Loader {
  const int8_t* w;
  void prefetch32(int64_t c, const Stream& stream) const {
    if (c % 64 == 0) stream.prefetch_ahead(w + c);
  }
  __m512 full(int64_t c) const {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + c))));
  }
  __m512 part(int64_t c, __mmask16 mask) const {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, w + c)));
  }
};

// Σ_c w[c] · x[c] for the row `row` reads.
template <typename Loader>
inline float plain_row(const Loader& row, int64_t cols, const float* x, const Stream& stream) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 32 <= cols; c += 32) {
    row.prefetch32(c, stream);
    acc0 = _mm512_fmadd_ps(row.full(c), _mm512_loadu_ps(x + c), acc0);
    acc1 = _mm512_fmadd_ps(row.full(c + 16), _mm512_loadu_ps(x + c + 16), acc1);
  }
  for (; c < cols; c += 16) {
    const __mmask16 mask = mask16(cols - c);
    acc0 = _mm512_fmadd_ps(row.part(c, mask), _mm512_maskz_loadu_ps(mask, x + c), acc0);
  }
  return horizontal_sum(_mm512_add_ps(acc0, acc1));
}

// Rows [row_begin, row_end), `row_bytes` apart from w; make(r) builds row r's
// loader, store(r, sum) writes its result.
template <typename Loader, typename Make, typename Store>
inline void plain_gemv(const void* w, int64_t row_bytes, int64_t cols, const float* x,
                       int64_t row_begin, int64_t row_end, const GemvNext& next, Make make,
                       Store store) {
  const char* base = static_cast<const char*>(w);
  const Stream stream(base + row_end * row_bytes, base + next.begin * row_bytes,
                      base + next.end * row_bytes);
  if (!next.warm) stream.prefetch_start(base + row_begin * row_bytes);
  for (int64_t r = row_begin; r < row_end; ++r) store(r, plain_row(make(r), cols, x, stream));
}

// ---- int4 g128, x in group order --------------------------------------------------

// Σ_g scale[g] · Σ_{c in g} (n_c - 8) · x[c] for one row of packed nibbles.
inline float q4_row(const uint8_t* w, const uint16_t* scales, int64_t cols, const float* x,
                    const Stream& stream) {
  // Nibble n stores q = n - 8.
  const __m512 centred = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
  const int64_t row_bytes = (cols + 1) / 2;
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  const int64_t groups = (cols + 127) / 128;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t byte = g * 64;
    const float* xg = x + g * 128;
    stream.prefetch_ahead(w + byte);
    const __m512i packed = byte + 64 <= row_bytes
                               ? _mm512_loadu_si512(w + byte)
                               : _mm512_maskz_loadu_epi8(mask64(row_bytes - byte), w + byte);
    const __m512 table = _mm512_mul_ps(centred, _mm512_set1_ps(_cvtsh_ss(scales[g])));
    for (int j = 0; j < 8; j += 2) {
      // vpermps reads only the low 4 bits of each index lane.
      const __m512 w0 = _mm512_permutexvar_ps(_mm512_srli_epi32(packed, 4 * j), table);
      const __m512 w1 = _mm512_permutexvar_ps(_mm512_srli_epi32(packed, 4 * j + 4), table);
      acc0 = _mm512_fmadd_ps(w0, _mm512_load_ps(xg + j * 16), acc0);
      acc1 = _mm512_fmadd_ps(w1, _mm512_load_ps(xg + j * 16 + 16), acc1);
    }
  }
  return horizontal_sum(_mm512_add_ps(acc0, acc1));
}

}  // namespace

void gemv_f32(const float* w, int64_t cols, const float* x, float* y, int64_t row_begin,
              int64_t row_end, const GemvNext& next) {
  plain_gemv<F32Loader>(
      w, cols * 4, cols, x, row_begin, row_end, next,
      [&](int64_t r) { return F32Loader{w + r * cols}; },
      [&](int64_t r, float sum) { y[r] = sum; });
}

void gemv_f16(const uint16_t* w, int64_t cols, const float* x, float* y, int64_t row_begin,
              int64_t row_end, const GemvNext& next) {
  plain_gemv<F16Loader>(
      w, cols * 2, cols, x, row_begin, row_end, next,
      [&](int64_t r) { return F16Loader{w + r * cols}; },
      [&](int64_t r, float sum) { y[r] = sum; });
}

void gemv_q8_row(const int8_t* q, const float* scales, int64_t cols, const float* x, float* y,
                 int64_t row_begin, int64_t row_end, const GemvNext& next) {
  plain_gemv<Q8Loader>(
      q, cols, cols, x, row_begin, row_end, next, [&](int64_t r) { return Q8Loader{q + r * cols}; },
      [&](int64_t r, float sum) { y[r] = scales[r] * sum; });
}

void gemv_bf16(const uint16_t* w, int64_t cols, const float* x, float* y, int64_t row_begin,
               int64_t row_end, const GemvNext& next) {
  plain_gemv<BF16Loader>(
      w, cols * 2, cols, x, row_begin, row_end, next,
      [&](int64_t r) { return BF16Loader{w + r * cols}; },
      [&](int64_t r, float sum) { y[r] = sum; });
}

void gemv_q4_g128(const uint8_t* packed, const uint16_t* scales, int64_t cols, const float* x,
                  float* y, int64_t row_begin, int64_t row_end, const GemvNext& next) {
  const int64_t row_bytes = (cols + 1) / 2, groups = (cols + 127) / 128;
  const ScaledRows streams(packed, row_bytes, scales, groups * 2, row_begin, row_end, next);
  for (int64_t r = row_begin; r < row_end; ++r) {
    streams.prefetch_scales(r);
    y[r] = q4_row(packed + r * row_bytes, scales + r * groups, cols, x, streams.weights());
  }
}

}  // namespace tc::kernels::avx512
TC_ISA_END
