// AVX-512 decode kernels (see gemv.h). Like gemm_avx512.cc this file alone is
// compiled with AVX-512 flags, is entered only after a run-time CPU check, and
// uses no STL or other shared inline code.
//
// Every kernel walks kRowBlock rows at once so each vector of x, loaded once,
// feeds kRowBlock FMAs; each row keeps two accumulators so enough FMAs are in
// flight to cover their latency. The weights are the only stream from memory.
// GCC 12's AVX-512 headers trip -Wuninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/cpu/avx512_common.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/gemv_prefetch.h"

namespace tc::kernels {

namespace {

using avx512::horizontal_sum;
using avx512::mask16;
using gemv_prefetch::kRowBlock;
using gemv_prefetch::mask64;
using gemv_prefetch::prefetch_line;
using gemv_prefetch::prefetch_plan;
using gemv_prefetch::PrefetchPlan;
using gemv_prefetch::Q4Rows;

// ---- formats read in plain order: 16 weights at a time --------------------------

// A loader reads 16 weights of its row from element c as fp32 (`part`: only
// the lanes in `mask`, the rest zero) and prefetches 32 elements' worth of
// the row's stream `ahead` bytes on.
struct F32Loader {
  static constexpr int64_t kBytesX2 = 8;
  const float* w;
  void prefetch32(int64_t c, int64_t ahead) const {
    const char* p = reinterpret_cast<const char*>(w + c) + ahead;
    prefetch_line(p);
    prefetch_line(p + 64);
  }
  __m512 full(int64_t c) const { return _mm512_loadu_ps(w + c); }
  __m512 part(int64_t c, __mmask16 mask) const { return _mm512_maskz_loadu_ps(mask, w + c); }
};

struct F16Loader {
  static constexpr int64_t kBytesX2 = 4;
  const uint16_t* w;
  void prefetch32(int64_t c, int64_t ahead) const {
    prefetch_line(reinterpret_cast<const char*>(w + c) + ahead);
  }
  __m512 full(int64_t c) const {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c)));
  }
  __m512 part(int64_t c, __mmask16 mask) const {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, w + c));
  }
};

struct BF16Loader {
  static constexpr int64_t kBytesX2 = 4;
  const uint16_t* w;
  void prefetch32(int64_t c, int64_t ahead) const {
    prefetch_line(reinterpret_cast<const char*>(w + c) + ahead);
  }
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
  static constexpr int64_t kBytesX2 = 2;
  const int8_t* w;
  void prefetch32(int64_t c, int64_t ahead) const {
    if (c % 64 == 0) prefetch_line(reinterpret_cast<const char*>(w + c) + ahead);
  }
  __m512 full(int64_t c) const {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + c))));
  }
  __m512 part(int64_t c, __mmask16 mask) const {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, w + c)));
  }
};

// sums[i] = Σ_c w_i[c] · x[c] for the R rows of `rows`.
template <int R, typename Loader>
inline void plain_rows(const Loader (&rows)[R], int64_t cols, const float* x, float* sums) {
  __m512 acc[R][2];
  for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  const PrefetchPlan plan = prefetch_plan(cols * Loader::kBytesX2 / 2, Loader::kBytesX2, 32);
  const auto step = [&](int64_t c, int64_t ahead) {
    const __m512 x0 = _mm512_loadu_ps(x + c);
    const __m512 x1 = _mm512_loadu_ps(x + c + 16);
    for (int i = 0; i < R; ++i) {
      rows[i].prefetch32(c, ahead);
      acc[i][0] = _mm512_fmadd_ps(rows[i].full(c), x0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(rows[i].full(c + 16), x1, acc[i][1]);
    }
  };
  int64_t c = 0;
  for (; c < plan.same_row_end; c += 32) step(c, plan.same_row);
  for (; c + 32 <= cols; c += 32) step(c, plan.next_block);
  for (; c < cols; c += 16) {
    const __mmask16 mask = mask16(cols - c);
    const __m512 xv = _mm512_maskz_loadu_ps(mask, x + c);
    for (int i = 0; i < R; ++i) acc[i][0] = _mm512_fmadd_ps(rows[i].part(c, mask), xv, acc[i][0]);
  }
  for (int i = 0; i < R; ++i) sums[i] = horizontal_sum(_mm512_add_ps(acc[i][0], acc[i][1]));
}

// Rows [row_begin, row_end) in blocks of kRowBlock; make(r) builds row r's loader.
template <typename Loader, typename Make, typename Store>
inline void plain_gemv(int64_t cols, const float* x, int64_t row_begin, int64_t row_end, Make make,
                       Store store) {
  int64_t r = row_begin;
  for (; r + kRowBlock <= row_end; r += kRowBlock) {
    const Loader rows[kRowBlock] = {make(r), make(r + 1), make(r + 2), make(r + 3)};
    float sums[kRowBlock];
    plain_rows<kRowBlock>(rows, cols, x, sums);
    for (int i = 0; i < kRowBlock; ++i) store(r + i, sums[i]);
  }
  for (; r < row_end; ++r) {
    const Loader rows[1] = {make(r)};
    float sum;
    plain_rows<1>(rows, cols, x, &sum);
    store(r, sum);
  }
}

// ---- int4 g128, x in group order --------------------------------------------------

template <int R>
inline void q4_rows(const uint8_t* const (&w)[R], const uint16_t* const (&scales)[R], int64_t cols,
                    const float* x, float* sums) {
  // Nibble n stores q = n - 8.
  const __m512 centred = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
  const int64_t row_bytes = (cols + 1) / 2;
  __m512 acc[R][2];
  for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  const PrefetchPlan plan = prefetch_plan(row_bytes, 1, 128);
  const auto group = [&](int64_t g, int64_t ahead) {
    const int64_t byte = g * 64;
    const float* xg = x + g * 128;
    __m512 xj[8];
    for (int j = 0; j < 8; ++j) xj[j] = _mm512_load_ps(xg + j * 16);
    const bool whole = byte + 64 <= row_bytes;
    const __mmask64 mask = mask64(row_bytes - byte);
    for (int i = 0; i < R; ++i) {
      prefetch_line(w[i] + byte + ahead);
      const __m512i packed =
          whole ? _mm512_loadu_si512(w[i] + byte) : _mm512_maskz_loadu_epi8(mask, w[i] + byte);
      const __m512 table = _mm512_mul_ps(centred, _mm512_set1_ps(_cvtsh_ss(scales[i][g])));
      for (int j = 0; j < 8; j += 2) {
        // vpermps reads only the low 4 bits of each index lane.
        const __m512 w0 = _mm512_permutexvar_ps(_mm512_srli_epi32(packed, 4 * j), table);
        const __m512 w1 = _mm512_permutexvar_ps(_mm512_srli_epi32(packed, 4 * j + 4), table);
        acc[i][0] = _mm512_fmadd_ps(w0, xj[j], acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(w1, xj[j + 1], acc[i][1]);
      }
    }
  };
  const int64_t groups = (cols + 127) / 128;
  int64_t g = 0;
  for (; g * 128 < plan.same_row_end; ++g) group(g, plan.same_row);
  for (; g < groups; ++g) group(g, plan.next_block);
  for (int i = 0; i < R; ++i) sums[i] = horizontal_sum(_mm512_add_ps(acc[i][0], acc[i][1]));
}

}  // namespace

void gemv_f32_avx512(const float* w, int64_t cols, const float* x, float* y, int64_t row_begin,
                     int64_t row_end) {
  plain_gemv<F32Loader>(
      cols, x, row_begin, row_end, [&](int64_t r) { return F32Loader{w + r * cols}; },
      [&](int64_t r, float sum) { y[r] = sum; });
}

void gemv_f16_avx512(const uint16_t* w, int64_t cols, const float* x, float* y, int64_t row_begin,
                     int64_t row_end) {
  plain_gemv<F16Loader>(
      cols, x, row_begin, row_end, [&](int64_t r) { return F16Loader{w + r * cols}; },
      [&](int64_t r, float sum) { y[r] = sum; });
}

void gemv_q8_row_avx512(const int8_t* q, const float* scales, int64_t cols, const float* x,
                        float* y, int64_t row_begin, int64_t row_end) {
  plain_gemv<Q8Loader>(
      cols, x, row_begin, row_end, [&](int64_t r) { return Q8Loader{q + r * cols}; },
      [&](int64_t r, float sum) { y[r] = scales[r] * sum; });
}

void gemv_bf16_avx512(const uint16_t* w, int64_t cols, const float* x, float* y, int64_t row_begin,
                      int64_t row_end) {
  plain_gemv<BF16Loader>(
      cols, x, row_begin, row_end, [&](int64_t r) { return BF16Loader{w + r * cols}; },
      [&](int64_t r, float sum) { y[r] = sum; });
}

void gemv_q4_g128_avx512(const uint8_t* packed, const uint16_t* scales, int64_t cols,
                         const float* x, float* y, int64_t row_begin, int64_t row_end) {
  int64_t r = row_begin;
  for (; r + kRowBlock <= row_end; r += kRowBlock) {
    const Q4Rows<kRowBlock> rows(packed, scales, cols, r);
    q4_rows<kRowBlock>(rows.nibbles, rows.scales, cols, x, y + r);
  }
  for (; r < row_end; ++r) {
    const Q4Rows<1> rows(packed, scales, cols, r);
    q4_rows<1>(rows.nibbles, rows.scales, cols, x, y + r);
  }
}

}  // namespace tc::kernels
