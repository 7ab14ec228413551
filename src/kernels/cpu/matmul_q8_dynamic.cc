// W8A8 matmul (WeightFormat::kQ8RowDynamic): per-token int8 activations, int8
// weights, int32 accumulation. See q8_dynamic.h for the arithmetic and
// docs/WEIGHT_FORMATS.md ("q8_row_dynamic activations") for why per token.
//
// This file holds the scalar reference, the AVX2 kernels (enabled per function
// with __attribute__((target)), entered only after a CPU check) and the
// dispatch; the AVX-512 VNNI kernel lives in q8_dynamic_avx512.cc.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/aligned_buffer.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/isa_region.h"
#include "core/thread_pool.h"
#include "kernels/cpu/matmul_quant.h"
#include "kernels/cpu/q8_dynamic.h"
#include "kernels/cpu/q8_dynamic_kernels.h"
#include "kernels/cpu/row_walk.h"

namespace tc::kernels {

namespace {

// Rows per thread chunk (a multiple of every kernel's row block).
constexpr int64_t kRowGrain = 16;
// Quantized activations are padded per token to a multiple of this many bytes
// (zeros), so the SIMD loops read whole vectors past `cols` without a check.
constexpr int64_t kStrideAlign = 64;
// Tokens are processed in tiles of about this many quantized bytes: a tile
// stays in L2 while a thread streams its rows of weights past it, so with
// prompts up to a tile (≈ 200 tokens at cols = 4864) every weight row is read
// from memory once per call.
constexpr int64_t kTokenTileBytes = int64_t{1} << 20;
// Σ |w·x| <= cols · 128 · 127 must fit in int32.
constexpr int64_t kMaxCols = 131072;

// ---- activation quantization ---------------------------------------------------

inline int8_t quantize_value(float x, float scale) {
  // fmax before fmin: a NaN input lands on -127, as in the AVX2 code (maxps
  // returns its second operand when either is NaN).
  return static_cast<int8_t>(std::fmin(127.0f, std::fmax(-127.0f, std::nearbyint(x / scale))));
}

void quantize_token_scalar(const float* x, int64_t cols, int8_t* q, float* scale) {
  float max_abs = 0.0f;
  for (int64_t c = 0; c < cols; ++c) max_abs = std::fmax(max_abs, std::fabs(x[c]));
  const float sx = max_abs / 127.0f;
  *scale = sx;
  if (sx == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(cols));
    return;
  }
  for (int64_t c = 0; c < cols; ++c) q[c] = quantize_value(x[c], sx);
}

}  // namespace

TC_ISA_AVX2_BEGIN
namespace avx2 {
namespace {

void quantize_token(const float* x, int64_t cols, int8_t* q, float* scale) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 vmax = _mm256_setzero_ps();
  int64_t c = 0;
  // |x| first: maxps returns its second operand on NaN, so NaNs are skipped
  // like std::fmax skips them.
  for (; c + 8 <= cols; c += 8)
    vmax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + c), abs_mask), vmax);
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  float max_abs = _mm_cvtss_f32(m);
  for (; c < cols; ++c) max_abs = std::fmax(max_abs, std::fabs(x[c]));
  const float sx = max_abs / 127.0f;
  *scale = sx;
  if (sx == 0.0f) {
    std::memset(q, 0, static_cast<size_t>(cols));
    return;
  }
  // Division (not multiplication by 127 / max) and round-to-nearest-even, so
  // every value matches quantize_value bit for bit.
  const __m256 vscale = _mm256_set1_ps(sx);
  const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
  for (c = 0; c + 8 <= cols; c += 8) {
    __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + c), vscale);
    v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    const __m256i i32 = _mm256_cvtps_epi32(v);
    const __m128i i16 =
        _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + c), _mm_packs_epi16(i16, i16));
  }
  for (; c < cols; ++c) q[c] = quantize_value(x[c], sx);
}

// ---- AVX2 dot products ----------------------------------------------------------
// Sign trick: vpmaddubsw multiplies unsigned by signed bytes, so the weight
// goes in as |w| (unsigned; |-128| = 128 still fits) and the activation takes
// the weight's sign (vpsignb; |qx| <= 127, so negating never overflows).
// |w|·|x| <= 128 · 127, so a pair sum is <= 32512 and vpmaddubsw never
// saturates; vpmaddwd with ones widens the pairs to int32.

inline int32_t horizontal_sum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// sums[i][j] = Σ_c w_rows[i][c] · x_rows[j][c]: R weight rows × T tokens of
// int32 accumulators in registers (R·T + 2R + 3 <= 16 ymm registers).
template <int R, int T>
inline void dot_block(const int8_t* const* w_rows, const int8_t* const* x_rows, int64_t cols,
                      int32_t (*sums)[4]) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[R][T];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_si256();
  int64_t k = 0;
  for (; k + 32 <= cols; k += 32) {
    __m256i wv[R], wabs[R];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      wv[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w_rows[i] + k));
      wabs[i] = _mm256_abs_epi8(wv[i]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < T; ++j) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_rows[j] + k));
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) {
        const __m256i pairs = _mm256_maddubs_epi16(wabs[i], _mm256_sign_epi8(xv, wv[i]));
        acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(pairs, ones));
      }
    }
  }
  if (k < cols) {
    // The weight rows end at cols: copy their tails into zeroed vectors. The
    // activations are zero-padded to the stride, so a whole load is safe.
    alignas(32) int8_t tail[R][32] = {};
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) std::memcpy(tail[i], w_rows[i] + k, static_cast<size_t>(cols - k));
    __m256i wv[R], wabs[R];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      wv[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(tail[i]));
      wabs[i] = _mm256_abs_epi8(wv[i]);
    }
#pragma GCC unroll 4
    for (int j = 0; j < T; ++j) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_rows[j] + k));
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) {
        const __m256i pairs = _mm256_maddubs_epi16(wabs[i], _mm256_sign_epi8(xv, wv[i]));
        acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(pairs, ones));
      }
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < T; ++j) sums[i][j] = horizontal_sum(acc[i][j]);
}

// Rows in blocks of R; for each block every token in blocks of up to 4, so
// the R weight rows stay in L1 while all tokens of the tile pass by. A short
// last row block repeats its last row (results discarded).
template <int R>
void row_blocks(const int8_t* w, const float* w_scales, int64_t cols, const int8_t* qx,
                const float* x_scales, int64_t x_stride, int64_t n, float* y, int64_t rows,
                int64_t row_begin, int64_t row_end) {
  for (int64_t r0 = row_begin; r0 < row_end; r0 += R) {
    const int64_t row_count = std::min<int64_t>(R, row_end - r0);
    const int8_t* w_rows[R];
    for (int i = 0; i < R; ++i) w_rows[i] = w + (r0 + std::min<int64_t>(i, row_count - 1)) * cols;
    for (int64_t t0 = 0; t0 < n; t0 += 4) {
      const int64_t token_count = std::min<int64_t>(4, n - t0);
      const int8_t* x_rows[4];
      for (int j = 0; j < 4; ++j)
        x_rows[j] = qx + (t0 + std::min<int64_t>(j, token_count - 1)) * x_stride;
      int32_t sums[R][4];
      switch (token_count) {
        case 4:
          dot_block<R, 4>(w_rows, x_rows, cols, sums);
          break;
        case 3:
          dot_block<R, 3>(w_rows, x_rows, cols, sums);
          break;
        case 2:
          dot_block<R, 2>(w_rows, x_rows, cols, sums);
          break;
        default:
          dot_block<R, 1>(w_rows, x_rows, cols, sums);
          break;
      }
      for (int64_t i = 0; i < row_count; ++i) {
        for (int64_t j = 0; j < token_count; ++j) {
          y[(t0 + j) * rows + r0 + i] =
              static_cast<float>(sums[i][j]) * w_scales[r0 + i] * x_scales[t0 + j];
        }
      }
    }
  }
}

}  // namespace

void q8_dynamic_rows(const int8_t* w, const float* w_scales, int64_t cols, const int8_t* qx,
                     const float* x_scales, int64_t x_stride, int64_t n, float* y, int64_t rows,
                     int64_t row_begin, int64_t row_end) {
  // One token (decode): four rows share each activation load. Several: two
  // rows × four tokens of accumulators, the most that fit 16 ymm registers.
  if (n == 1) {
    row_blocks<4>(w, w_scales, cols, qx, x_scales, x_stride, n, y, rows, row_begin, row_end);
  } else {
    row_blocks<2>(w, w_scales, cols, qx, x_scales, x_stride, n, y, rows, row_begin, row_end);
  }
}

}  // namespace avx2
TC_ISA_END

namespace {

// ---- dispatch --------------------------------------------------------------------

void check_weight(const WeightMatrix& weight) {
  if (weight.format != WeightFormat::kQ8RowDynamic && weight.format != WeightFormat::kQ8Row) {
    fail("matmul_q8_dynamic: weight format is {}, expected q8_row_dynamic",
         weight_format_name(weight.format));
  }
  if (weight.rows < 0 || weight.cols < 0 ||
      weight.storage.size() != static_cast<size_t>(weight.rows * weight.cols) ||
      weight.scales.size() != static_cast<size_t>(weight.rows) * sizeof(float)) {
    fail("matmul_q8_dynamic: a {}x{} weight needs {} value bytes and {} scale bytes, has {} and {}",
         weight.rows, weight.cols, weight.rows * weight.cols, weight.rows * 4,
         weight.storage.size(), weight.scales.size());
  }
  if (weight.cols > kMaxCols) {
    fail("matmul_q8_dynamic: {} inputs per row could overflow the int32 sums (at most {})",
         weight.cols, kMaxCols);
  }
}

}  // namespace

void q8_dynamic_rows_scalar(const int8_t* w, const float* w_scales, int64_t cols, const int8_t* qx,
                            const float* x_scales, int64_t x_stride, int64_t n, float* y,
                            int64_t rows, int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int8_t* row = w + r * cols;
    for (int64_t t = 0; t < n; ++t) {
      const int8_t* xt = qx + t * x_stride;
      int32_t sum = 0;
      for (int64_t c = 0; c < cols; ++c) sum += int32_t{row[c]} * int32_t{xt[c]};
      y[t * rows + r] = static_cast<float>(sum) * w_scales[r] * x_scales[t];
    }
  }
}

void quantize_activations_q8(const float* x, int64_t n, int64_t cols, int8_t* q, float* scales) {
  for (int64_t t = 0; t < n; ++t)
    quantize_token_scalar(x + t * cols, cols, q + t * cols, scales + t);
}

void matmul_q8_dynamic_scalar(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  check_weight(weight);
  const int64_t cols = weight.cols;
  AlignedBuffer<int8_t> qx(static_cast<size_t>(n * cols));
  AlignedBuffer<float> scales(static_cast<size_t>(n));
  quantize_activations_q8(x, n, cols, qx.data(), scales.data());
  q8_dynamic_rows_scalar(weight.i8(), weight.row_scales(), cols, qx.data(), scales.data(), cols, n,
                         y, weight.rows, 0, weight.rows);
}

std::string_view q8_dynamic_kernel_name(Q8DynamicKernel kernel) {
  switch (kernel) {
    case Q8DynamicKernel::kScalar:
      return "scalar";
    case Q8DynamicKernel::kAvx2:
      return "avx2";
    case Q8DynamicKernel::kAvx512Vnni:
      return "avx512-vnni";
  }
  return "?";
}

bool q8_dynamic_kernel_supported(Q8DynamicKernel kernel) {
  switch (kernel) {
    case Q8DynamicKernel::kScalar:
      return true;
    case Q8DynamicKernel::kAvx2:
      return cpu_has_avx2();
    case Q8DynamicKernel::kAvx512Vnni:
      return cpu_has_avx512_vnni();
  }
  return false;
}

Q8DynamicKernel q8_dynamic_best_kernel() {
  static const Q8DynamicKernel best = [] {
    if (cpu_has_avx512_vnni()) return Q8DynamicKernel::kAvx512Vnni;
    if (cpu_has_avx2()) return Q8DynamicKernel::kAvx2;
    return Q8DynamicKernel::kScalar;
  }();
  return best;
}

void matmul_q8_dynamic_with(Q8DynamicKernel kernel, const WeightMatrix& weight, const float* x,
                            int64_t n, float* y) {
  check_weight(weight);
  if (!q8_dynamic_kernel_supported(kernel)) {
    fail("matmul_q8_dynamic: this CPU cannot run the {} kernel", q8_dynamic_kernel_name(kernel));
  }
  const int64_t rows = weight.rows, cols = weight.cols;
  if (n <= 0 || rows == 0) return;
  if (cols == 0) {
    std::fill(y, y + n * rows, 0.0f);
    return;
  }

  // Per-call scratch: the int8 activations (zero-padded rows) and their scales.
  const int64_t stride = (cols + kStrideAlign - 1) / kStrideAlign * kStrideAlign;
  AlignedBuffer<int8_t> qx(static_cast<size_t>(n * stride));
  AlignedBuffer<float> x_scales(static_cast<size_t>(n));
  const auto quantize_token =
      kernel == Q8DynamicKernel::kScalar ? quantize_token_scalar : avx2::quantize_token;
  const auto quantize_tokens = [&](size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      quantize_token(x + t * cols, cols, qx.data() + t * stride, x_scales.data() + t);
    }
  };
  if (n >= 8) {
    ThreadPool::global().parallel_for(static_cast<size_t>(n), 4, quantize_tokens);
  } else {
    quantize_tokens(0, static_cast<size_t>(n));
  }

  Q8DynamicRowsFn rows_fn = q8_dynamic_rows_scalar;
  if (kernel == Q8DynamicKernel::kAvx2) rows_fn = avx2::q8_dynamic_rows;
  if (kernel == Q8DynamicKernel::kAvx512Vnni) rows_fn = avx512::q8_dynamic_rows_vnni;
  const int64_t tile = std::max<int64_t>(4, kTokenTileBytes / stride / 4 * 4);
  const int8_t* w = weight.i8();
  const float* w_scales = weight.row_scales();
  if (n == 1) {
    // Decode: the threads walk the rows as the weight-only decode kernels do
    // (row_walk.h); the VNNI kernel also prefetches on into each claim's
    // next rows.
    walk_decode_rows(weight, [&](const RowClaim& c) {
      if (kernel == Q8DynamicKernel::kAvx512Vnni) {
        avx512::q8_dynamic_token_vnni(w, w_scales, cols, qx.data(), x_scales.data()[0], y, c.begin,
                                      c.end, c.next);
      } else {
        rows_fn(w, w_scales, cols, qx.data(), x_scales.data(), stride, 1, y, rows, c.begin, c.end);
      }
    });
    return;
  }
  // Rows are walked like decode rows (row_walk.h): each thread takes runs of
  // consecutive rows, one thread from the front and one from the back, so a
  // slower thread (on a shared machine one often is) takes fewer. A claim is
  // at most ~1/32 of the rows, which stay in L2 while every token tile
  // passes over them.
  const int64_t max_claim =
      std::max(kRowGrain, (rows / 32 + kRowGrain - 1) / kRowGrain * kRowGrain);
  walk_rows(ThreadPool::global(), rows, max_claim, kRowGrain, [&](const RowClaim& c) {
    for (int64_t t0 = 0; t0 < n; t0 += tile) {
      rows_fn(w, w_scales, cols, qx.data() + t0 * stride, x_scales.data() + t0, stride,
              std::min(tile, n - t0), y + t0 * rows, rows, c.begin, c.end);
    }
  });
}

void matmul_q8_dynamic(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  matmul_q8_dynamic_with(q8_dynamic_best_kernel(), weight, x, n, y);
}

}  // namespace tc::kernels
