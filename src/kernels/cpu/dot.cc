#include "kernels/cpu/dot.h"

#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/isa_region.h"

namespace tc::kernels {

namespace {

// ---- scalar ----------------------------------------------------------------

float dot_f32_scalar(const float* w, const float* x, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += w[i] * x[i];
  return sum;
}

float dot_bf16_scalar(const uint16_t* w, const float* x, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += bf16_to_f32(w[i]) * x[i];
  return sum;
}

float dot_f16_scalar(const uint16_t* w, const float* x, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += f16_to_f32(w[i]) * x[i];
  return sum;
}

float dot_q8_scalar(const int8_t* q, const float* x, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<float>(q[i]) * x[i];
  return sum;
}

// Nibble c of a packed row: low half of byte c/2 for even c, high for odd; q + 8.
inline int q4_at(const uint8_t* row, int64_t c) {
  const uint8_t byte = row[c / 2];
  return ((c % 2 == 0) ? (byte & 0x0f) : (byte >> 4)) - 8;
}

float dot_q4_scalar(const uint8_t* row, const uint16_t* scales, const float* x, int64_t n) {
  float total = 0.0f;
  for (int64_t g0 = 0; g0 < n; g0 += 128) {
    float sum = 0.0f;
    for (int64_t c = g0; c < std::min<int64_t>(n, g0 + 128); ++c) {
      sum += static_cast<float>(q4_at(row, c)) * x[c];
    }
    total += f16_to_f32(scales[g0 / 128]) * sum;
  }
  return total;
}

// ---- AVX2 + FMA (+F16C) ----------------------------------------------------
// Four independent accumulators hide the FMA latency; the tail is scalar.

}  // namespace

TC_ISA_AVX2_BEGIN
namespace avx2 {
namespace {

// Which half-precision format a uint16_t row holds (ignored for fp32 rows).
enum class Half { kBF16, kF16 };

inline float horizontal_sum(__m256 v) {
  __m128 low = _mm256_castps256_ps128(v);
  __m128 high = _mm256_extractf128_ps(v, 1);
  low = _mm_add_ps(low, high);
  low = _mm_add_ps(low, _mm_movehl_ps(low, low));
  low = _mm_add_ss(low, _mm_shuffle_ps(low, low, 1));
  return _mm_cvtss_f32(low);
}

inline __m256 load_bf16x8(const uint16_t* w) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
}

inline __m256 load_f16x8(const uint16_t* w) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
}

template <Half kind>
inline __m256 load8(const float* w) {
  return _mm256_loadu_ps(w);
}

template <Half kind>
inline __m256 load8(const uint16_t* w) {
  if constexpr (kind == Half::kBF16) {
    return load_bf16x8(w);
  } else {
    return load_f16x8(w);
  }
}

template <typename T, Half kind = Half::kBF16>
inline float dot_vector(const T* w, const float* x, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(load8<kind>(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(load8<kind>(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(load8<kind>(w + i + 16), _mm256_loadu_ps(x + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(load8<kind>(w + i + 24), _mm256_loadu_ps(x + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(load8<kind>(w + i), _mm256_loadu_ps(x + i), acc0);
  // The caller adds the tail from n / 8 * 8 on.
  return horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

float dot_f32(const float* w, const float* x, int64_t n) {
  float sum = dot_vector(w, x, n);
  for (int64_t i = n / 8 * 8; i < n; ++i) sum += w[i] * x[i];
  return sum;
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
  float sum = dot_vector<uint16_t, Half::kBF16>(w, x, n);
  for (int64_t i = n / 8 * 8; i < n; ++i) sum += bf16_to_f32(w[i]) * x[i];
  return sum;
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
  float sum = dot_vector<uint16_t, Half::kF16>(w, x, n);
  for (int64_t i = n / 8 * 8; i < n; ++i) sum += f16_to_f32(w[i]) * x[i];
  return sum;
}

float dot_q8(const int8_t* q, const float* x, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i));
    const __m256 w0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(raw));
    const __m256 w1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(raw, 8)));
    acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), acc1);
  }
  float sum = horizontal_sum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += static_cast<float>(q[i]) * x[i];
  return sum;
}

// 16 nibbles (8 bytes from row + c/2, c a multiple of 16) as q = nibble - 8,
// fp32, elements c..c+7 and c+8..c+15.
inline void unpack_q4x16(const uint8_t* row, int64_t c, __m256* low, __m256* high) {
  const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + c / 2));
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i nibbles =
      _mm_unpacklo_epi8(_mm_and_si128(raw, mask), _mm_and_si128(_mm_srli_epi16(raw, 4), mask));
  const __m256i eight = _mm256_set1_epi32(8);
  *low = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(nibbles), eight));
  *high =
      _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(nibbles, 8)), eight));
}

float dot_q4(const uint8_t* row, const uint16_t* scales, const float* x, int64_t n) {
  float total = 0.0f;
  for (int64_t g0 = 0; g0 < n; g0 += 128) {
    const int64_t g1 = std::min<int64_t>(n, g0 + 128);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t c = g0;
    for (; c + 16 <= g1; c += 16) {
      __m256 low, high;
      unpack_q4x16(row, c, &low, &high);
      acc0 = _mm256_fmadd_ps(low, _mm256_loadu_ps(x + c), acc0);
      acc1 = _mm256_fmadd_ps(high, _mm256_loadu_ps(x + c + 8), acc1);
    }
    float sum = horizontal_sum(_mm256_add_ps(acc0, acc1));
    for (; c < g1; ++c) sum += static_cast<float>(q4_at(row, c)) * x[c];
    total += f16_to_f32(scales[g0 / 128]) * sum;
  }
  return total;
}

}  // namespace
}  // namespace avx2
TC_ISA_END

namespace {

const DotKernels kScalar{dot_f32_scalar, dot_bf16_scalar, dot_f16_scalar,
                         dot_q8_scalar,  dot_q4_scalar,   "scalar"};
const DotKernels kAvx2{avx2::dot_f32, avx2::dot_bf16, avx2::dot_f16,
                       avx2::dot_q8,  avx2::dot_q4,   "avx2+fma+f16c"};

}  // namespace

const DotKernels& scalar_dot_kernels() { return kScalar; }

const DotKernels& dot_kernels() {
  static const DotKernels& chosen = []() -> const DotKernels& {
    return cpu_has_avx2() ? kAvx2 : kScalar;
  }();
  return chosen;
}

}  // namespace tc::kernels
