// Causal grouped-query attention: the scalar reference and the AVX2+FMA fast
// path (with an AVX-512 step for decode, and AVX-512 tiles for prefill's two
// products, attention_prefill.h).
//
// Prefill (n > 1) is flash attention. A task is a block of query positions
// times the GQA group of query heads that share one kv head ("rows"), so each
// K/V block is loaded once for all of them. The task streams over blocks of
// kKeyBlock keys: S = Q·Kᵀ as a register-tiled matmul against a transposed K
// block, an online-softmax step per row (running max m and denominator l; the
// fp32 accumulator O is rescaled by e^(m_old - m_new) when the max grows),
// then O += P·V. Only blocks reaching past the first row's position need the
// causal mask; blocks past the last row's position are never visited.
//
// Decode (n == 1) has only a group's handful of rows, too few to pay for
// transposing keys each step. The KV cache keeps its keys transposed
// already, in KV tiles (attention.h: attention_decode), and
// scores 16 keys per FMA; keys given as rows (attention_causal) are scored
// as dot products. Every query head of the group runs over a key block
// while it is in L1; with AVX-512 (head_dim a multiple of 16) that block
// step is attention_decode_avx512.cc, else the AVX2 code here. Long contexts are read in
// whole rows (every kv head in one pass over memory) and split into key ranges on different
// threads, whose partial (m, l, O) are merged at the end (flash-decoding); short ones are split by
// kv head first.

#include "kernels/cpu/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/isa_region.h"
#include "core/thread_pool.h"
#include "kernels/cpu/attention_decode.h"
#include "kernels/cpu/attention_prefill.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/fast_exp.h"

namespace tc::kernels {

// The cache's tile layout (kv/kv_layout.h), which these kernels read.
using kv::kKvTileTokens;
using kv::kv_key_index;
using kv::kv_key_scale_index;
using kv::kv_tile_size;
using kv::kv_tile_start;
using kv::kv_tiles_size;
using kv::kv_value_index;
using kv::kv_value_scale_index;

void attention_causal_reference(const float* q, const float* keys, const float* values, int64_t n,
                                int64_t start, const AttentionShape& shape, float* out) {
  const int64_t hd = shape.head_dim;
  const int64_t group = shape.heads / shape.kv_heads;
  const int64_t kv_stride = shape.kv_heads * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const DotF32 dot = dot_kernels().f32;
  const size_t tasks = static_cast<size_t>(n * shape.heads);

  ThreadPool::global().parallel_for(tasks, 1, [&](size_t begin, size_t end) {
    std::vector<float> scores(static_cast<size_t>(start + n));
    for (size_t task = begin; task < end; ++task) {
      const int64_t t = static_cast<int64_t>(task) / shape.heads;
      const int64_t h = static_cast<int64_t>(task) % shape.heads;
      const int64_t kv_head = h / group;
      const int64_t visible = start + t + 1;
      const float* query = q + (t * shape.heads + h) * hd;
      float max_score = -INFINITY;
      for (int64_t j = 0; j < visible; ++j) {
        scores[j] = dot(query, keys + j * kv_stride + kv_head * hd, hd) * scale;
        max_score = std::max(max_score, scores[j]);
      }
      float denominator = 0.0f;
      for (int64_t j = 0; j < visible; ++j) {
        scores[j] = std::exp(scores[j] - max_score);
        denominator += scores[j];
      }
      float* result = out + (t * shape.heads + h) * hd;
      for (int64_t d = 0; d < hd; ++d) result[d] = 0.0f;
      for (int64_t j = 0; j < visible; ++j) {
        const float weight = scores[j] / denominator;
        const float* value = values + j * kv_stride + kv_head * hd;
        for (int64_t d = 0; d < hd; ++d) result[d] += weight * value[d];
      }
    }
  });
}

namespace {

// ---- setup shared by both paths ----------------------------------------------

constexpr int64_t kKeyBlock = 64;  // prefill keys per block: a 64 × head_dim K or V block fits L1
// Decode keys per block: at 32 keys a kv head's K and V stay in L1 for
// every head of the group (64 measured ~20% slower at head_dim 64, when K
// and V were rows interleaved with the other kv heads').
constexpr int64_t kDecodeKeys = kDecodeBlockKeys;
static_assert(kDecodeKeys == kKvTileTokens, "a decode block of a cache is one block of KV tiles");
constexpr int kTileRows = 6;            // rows of a register tile (6 × 16 floats: 12 accumulators)
constexpr int64_t kTargetRows = 64;     // prefill rows (positions × group heads) per task
constexpr int64_t kMinSplitKeys = 128;  // decode: the shortest key range worth a thread
constexpr int64_t kLongContext = 512;   // decode: from here on, split even with enough kv heads

struct Problem {
  const float* q;
  const float* keys;
  const float* values;
  float* out;
  int64_t n, start;
  int64_t heads, kv_heads, dim;
  int64_t group;       // query heads per kv head
  int64_t kv_stride;   // floats from one position's keys to the next
  int64_t padded_dim;  // dim rounded up to a multiple of 8 (one AVX2 vector)
  float scale;         // 1/sqrt(dim), folded into the copied queries
  // Attention over a cache layer's KV tiles (attention.h) in place of the
  // rows above, when cache.tiles is set.
  KvView cache{};
};

// Widens one stored element to fp32 (fp16: IEEE half bits; int8: the
// integer, before its scale).
inline float widened(float x) { return x; }
inline float widened(uint16_t x) { return f16_to_f32(x); }
inline float widened(int8_t x) { return static_cast<float>(x); }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Per-thread scratch, 64-byte aligned, grown on demand and kept for the next
// call so that a decode step does not allocate. Callers lay out their
// regions in it with region() sizes, so each starts on a cache line.
class Scratch {
 public:
  void reserve(size_t floats) {
    if (floats <= capacity_) return;
    const size_t bytes = round_up(static_cast<int64_t>(floats * sizeof(float)), 64);
    data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!data_) throw std::bad_alloc();
    capacity_ = bytes / sizeof(float);
  }
  float* data() { return data_.get(); }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  size_t capacity_ = 0;
};

// Region sizes rounded to whole cache lines (16 floats).
int64_t region(int64_t floats) { return round_up(floats, 16); }

// The kernels' scratch (every pool thread has one) and the decode partial
// results (owned by the calling thread, which also runs kernel tasks).
Scratch& kernel_scratch() {
  thread_local Scratch scratch;
  return scratch;
}
Scratch& partial_scratch() {
  thread_local Scratch scratch;
  return scratch;
}

// ---- AVX2 + FMA building blocks ------------------------------------------------

}  // namespace

TC_ISA_AVX2_BEGIN
namespace avx2 {
namespace {
// Register tiles are arrays of vectors indexed by constant-trip loops; GCC keeps
// them in registers only when those loops are fully unrolled early.
#define TC_UNROLL _Pragma("GCC unroll 16")

inline float horizontal_sum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}

inline float horizontal_max(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}

// All-ones in lanes i < count (count may be <= 0 or >= 8).
inline __m256 lane_mask(int64_t count) {
  const int lanes = static_cast<int>(std::clamp<int64_t>(count, 0, 8));
  return _mm256_castsi256_ps(
      _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
}

// The 8 sums of a[0..8) in one vector: lane i = Σ lanes of a[i].
inline __m256 reduce8(const __m256* a) {
  const __m256 s01 = _mm256_hadd_ps(a[0], a[1]);
  const __m256 s23 = _mm256_hadd_ps(a[2], a[3]);
  const __m256 s45 = _mm256_hadd_ps(a[4], a[5]);
  const __m256 s67 = _mm256_hadd_ps(a[6], a[7]);
  const __m256 s0123 = _mm256_hadd_ps(s01, s23);  // [0 1 2 3 | 0 1 2 3] half sums
  const __m256 s4567 = _mm256_hadd_ps(s45, s67);  // [4 5 6 7 | 4 5 6 7]
  return _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20),
                       _mm256_permute2f128_ps(s0123, s4567, 0x31));
}

// dst[c·ldd + r] = src[r·lds + c] for an 8×8 tile.
inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8], t[8];
  TC_UNROLL
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  TC_UNROLL
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[0..3]: columns 0..3 (and 4..7 in the high halves) of rows 0..3; r[4..7] rows 4..7.
  TC_UNROLL
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  TC_UNROLL
  for (int c = 0; c < 4; ++c) {
    _mm256_storeu_ps(dst + c * ldd, _mm256_permute2f128_ps(r[c], r[c + 4], 0x20));
    _mm256_storeu_ps(dst + (c + 4) * ldd, _mm256_permute2f128_ps(r[c], r[c + 4], 0x31));
  }
}

// One row's online-softmax step over a key block. On entry s[0, width) holds
// the row's scaled scores, of which the first `visible` count (width is a
// multiple of 8). On exit s holds p = e^(score - m) with the new max m (0 past
// `visible`), l is updated, and the row's accumulator o[0, padded_dim) is
// rescaled to the new max.
void softmax_step(float* s, int64_t visible, int64_t width, float& m, float& l, float* o,
                  int64_t padded_dim) {
  if (visible <= 0) {  // a row before this block's first key (prefill diagonal only)
    for (int64_t j = 0; j < width; j += 8) _mm256_storeu_ps(s + j, _mm256_setzero_ps());
    return;
  }
  __m256 block_max = _mm256_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 8 <= visible; j += 8) block_max = _mm256_max_ps(block_max, _mm256_loadu_ps(s + j));
  if (j < visible) {
    const __m256 tail =
        _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_loadu_ps(s + j), lane_mask(visible - j));
    block_max = _mm256_max_ps(block_max, tail);
  }
  const float new_max = std::max(m, horizontal_max(block_max));
  const __m256 shift = _mm256_set1_ps(new_max);
  __m256 sum = _mm256_setzero_ps();
  for (j = 0; j < width; j += 8) {
    __m256 p = avx2::exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), shift));
    // Masked lanes may hold anything (even NaN); the AND makes them +0.
    if (j + 8 > visible) p = _mm256_and_ps(p, lane_mask(visible - j));
    _mm256_storeu_ps(s + j, p);
    sum = _mm256_add_ps(sum, p);
  }
  // One libm exp per row and block, not per score; e^-inf = 0 on the first block.
  const float alpha = std::exp(m - new_max);
  l = l * alpha + horizontal_sum(sum);
  m = new_max;
  if (alpha != 1.0f) {
    const __m256 a = _mm256_set1_ps(alpha);
    for (int64_t d = 0; d < padded_dim; d += 8)
      _mm256_storeu_ps(o + d, _mm256_mul_ps(a, _mm256_loadu_ps(o + d)));
  }
}

// o[i·ldo + c·8 ..] += Σ_{j<count} p[i·ldp + j] · v[j·ldv + c·8 ..]: M rows of
// P times V, for NV vectors of 8 output dims held in registers.
template <int M, int NV>
inline void pv_tile(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t count,
                    float* o, int64_t ldo) {
  __m256 acc[M][NV];
  TC_UNROLL
  for (int i = 0; i < M; ++i) {
    TC_UNROLL
    for (int c = 0; c < NV; ++c) acc[i][c] = _mm256_loadu_ps(o + i * ldo + c * 8);
  }
  for (int64_t j = 0; j < count; ++j) {
    __m256 vj[NV];
    TC_UNROLL
    for (int c = 0; c < NV; ++c) vj[c] = _mm256_loadu_ps(v + j * ldv + c * 8);
    TC_UNROLL
    for (int i = 0; i < M; ++i) {
      const __m256 w = _mm256_broadcast_ss(p + i * ldp + j);
      TC_UNROLL
      for (int c = 0; c < NV; ++c) acc[i][c] = _mm256_fmadd_ps(w, vj[c], acc[i][c]);
    }
  }
  TC_UNROLL
  for (int i = 0; i < M; ++i) {
    TC_UNROLL
    for (int c = 0; c < NV; ++c) _mm256_storeu_ps(o + i * ldo + c * 8, acc[i][c]);
  }
}

// Copies a block of `count` rows of `dim` floats (row stride ld) into dst with
// rows of padded_dim floats, zero-padded, so the kernels never need a masked tail.
void copy_padded(const float* src, int64_t ld, int64_t count, int64_t dim, int64_t padded_dim,
                 float* dst) {
  for (int64_t j = 0; j < count; ++j) {
    std::copy(src + j * ld, src + j * ld + dim, dst + j * padded_dim);
    std::fill(dst + j * padded_dim + dim, dst + (j + 1) * padded_dim, 0.0f);
  }
}

// ---- prefill ------------------------------------------------------------------

// s[i·kKeyBlock + 0..16) = Σ_d q[i·ldq + d] · kt[d·kKeyBlock + 0..16) for M
// rows: an M×16 register tile of Q·Kᵀ over a transposed key block.
template <int M>
inline void score_tile(const float* q, int64_t ldq, const float* kt, int64_t dim, float* s) {
  __m256 acc[M][2];
  TC_UNROLL
  for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t d = 0; d < dim; ++d) {
    const __m256 k0 = _mm256_loadu_ps(kt + d * kKeyBlock);
    const __m256 k1 = _mm256_loadu_ps(kt + d * kKeyBlock + 8);
    TC_UNROLL
    for (int i = 0; i < M; ++i) {
      const __m256 w = _mm256_broadcast_ss(q + i * ldq + d);
      acc[i][0] = _mm256_fmadd_ps(w, k0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(w, k1, acc[i][1]);
    }
  }
  TC_UNROLL
  for (int i = 0; i < M; ++i) {
    _mm256_storeu_ps(s + i * kKeyBlock, acc[i][0]);
    _mm256_storeu_ps(s + i * kKeyBlock + 8, acc[i][1]);
  }
}

template <int M>
void score_rows(const float* q, int64_t dim, const float* kt, int64_t width, float* s) {
  for (int64_t j = 0; j < width; j += 16) score_tile<M>(q, dim, kt + j, dim, s + j);
}

// S[rows][kKeyBlock] = Q[rows][dim] · Kt[dim][kKeyBlock], columns [0, width).
void score_block(const float* q, int64_t rows, int64_t dim, const float* kt, int64_t width,
                 float* s) {
  for (int64_t r = 0; r < rows; r += kTileRows) {
    const float* qr = q + r * dim;
    float* sr = s + r * kKeyBlock;
    switch (std::min<int64_t>(kTileRows, rows - r)) {
      case 6:
        score_rows<6>(qr, dim, kt, width, sr);
        break;
      case 5:
        score_rows<5>(qr, dim, kt, width, sr);
        break;
      case 4:
        score_rows<4>(qr, dim, kt, width, sr);
        break;
      case 3:
        score_rows<3>(qr, dim, kt, width, sr);
        break;
      case 2:
        score_rows<2>(qr, dim, kt, width, sr);
        break;
      default:
        score_rows<1>(qr, dim, kt, width, sr);
        break;
    }
  }
}

// O[M rows][padded_dim] += P · V in tiles of 16 dims (8 for an odd last one).
template <int M>
void pv_rows(const float* p, const float* v, int64_t ldv, int64_t count, float* o,
             int64_t padded_dim) {
  int64_t c = 0;
  for (; c + 16 <= padded_dim; c += 16)
    pv_tile<M, 2>(p, kKeyBlock, v + c, ldv, count, o + c, padded_dim);
  if (c < padded_dim) pv_tile<M, 1>(p, kKeyBlock, v + c, ldv, count, o + c, padded_dim);
}

void pv_block(const float* p, int64_t rows, const float* v, int64_t ldv, int64_t count, float* o,
              int64_t padded_dim) {
  for (int64_t r = 0; r < rows; r += kTileRows) {
    const float* pr = p + r * kKeyBlock;
    float* orow = o + r * padded_dim;
    switch (std::min<int64_t>(kTileRows, rows - r)) {
      case 6:
        pv_rows<6>(pr, v, ldv, count, orow, padded_dim);
        break;
      case 5:
        pv_rows<5>(pr, v, ldv, count, orow, padded_dim);
        break;
      case 4:
        pv_rows<4>(pr, v, ldv, count, orow, padded_dim);
        break;
      case 3:
        pv_rows<3>(pr, v, ldv, count, orow, padded_dim);
        break;
      case 2:
        pv_rows<2>(pr, v, ldv, count, orow, padded_dim);
        break;
      default:
        pv_rows<1>(pr, v, ldv, count, orow, padded_dim);
        break;
    }
  }
}

// kt[d·kKeyBlock + j] = k[j·ldk + d] for j < count, d < dim; columns
// count .. round_up(count, 16) are zeroed (the score tiles are 16 wide).
void transpose_keys(const float* k, int64_t ldk, int64_t count, int64_t dim, float* kt) {
  const int64_t count8 = count / 8 * 8, dim8 = dim / 8 * 8;
  for (int64_t j = 0; j < count8; j += 8) {
    for (int64_t d = 0; d < dim8; d += 8)
      transpose8x8(k + j * ldk + d, ldk, kt + d * kKeyBlock + j, kKeyBlock);
    for (int64_t d = dim8; d < dim; ++d)
      for (int64_t i = j; i < j + 8; ++i) kt[d * kKeyBlock + i] = k[i * ldk + d];
  }
  for (int64_t d = 0; d < dim; ++d) {
    for (int64_t i = count8; i < count; ++i) kt[d * kKeyBlock + i] = k[i * ldk + d];
    for (int64_t i = count; i < round_up(count, 16); ++i) kt[d * kKeyBlock + i] = 0.0f;
  }
}

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load8(const int8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// dst[c] = src[c] · scale for c < count, widened to fp32.
template <typename T>
void widen_scaled(const T* src, int64_t count, float scale, float* dst) {
  const __m256 factor = _mm256_set1_ps(scale);
  int64_t c = 0;
  for (; c + 8 <= count; c += 8) _mm256_storeu_ps(dst + c, _mm256_mul_ps(load8(src + c), factor));
  for (; c < count; ++c) dst[c] = widened(src[c]) * scale;
}

// A prefill key block read from a cache layer's KV tiles (T: the format's
// element), keys k0 .. k0+count-1 (k0 a multiple of kKeyBlock, so whole
// tiles) of kv head `kv`: into kt as transpose_keys leaves it (a key tile is
// already dimension-major: its rows are copied, not transposed), values
// into v, [count][padded_dim], zero-padded; widened to fp32 and, for int8,
// multiplied by their scales. Only this block is widened, never the cache.
template <typename T>
void read_tile_block(const Problem& pb, const T* tiles, int64_t kv, int64_t k0, int64_t count,
                     float* kt, float* v) {
  static_assert(kKeyBlock % kKvTileTokens == 0, "a prefill key block is whole tiles");
  const int64_t dim = pb.dim, padded = pb.padded_dim;
  for (int64_t t0 = 0; t0 < count; t0 += kKvTileTokens) {
    const int64_t position = k0 + t0;
    const int64_t n = std::min(kKvTileTokens, count - t0);
    const T* key_tile = tiles + kv_tile_start(position, kv, pb.kv_heads, dim);
    const T* value_tile = key_tile + kv_tile_size(dim);
    float key_scales[kKvTileTokens];
    float value_scales[kKvTileTokens];
    for (int64_t j = 0; j < n; ++j) {
      const bool scaled = pb.cache.scales != nullptr;
      key_scales[j] =
          scaled ? f16_to_f32(pb.cache.scales[kv_key_scale_index(position + j, kv, pb.kv_heads)])
                 : 1.0f;
      value_scales[j] =
          scaled ? f16_to_f32(pb.cache.scales[kv_value_scale_index(position + j, kv, pb.kv_heads)])
                 : 1.0f;
    }
    for (int64_t d = 0; d < dim; ++d) {
      const T* row = key_tile + d * kKvTileTokens;
      float* dst = kt + d * kKeyBlock + t0;
      for (int64_t j = 0; j < n; ++j) dst[j] = widened(row[j]) * key_scales[j];
    }
    for (int64_t j = 0; j < n; ++j) {
      float* dst = v + (t0 + j) * padded;
      widen_scaled(value_tile + j * dim, dim, value_scales[j], dst);
      std::fill(dst + dim, dst + padded, 0.0f);
    }
  }
  // The score tiles are 16 wide: zero the key columns past the block.
  for (int64_t d = 0; d < dim; ++d)
    std::fill(kt + d * kKeyBlock + count, kt + d * kKeyBlock + round_up(count, 16), 0.0f);
}

void read_cache_block(const Problem& pb, int64_t kv, int64_t k0, int64_t count, float* kt,
                      float* v) {
  switch (pb.cache.format) {
    case KvFormat::kF32:
      return read_tile_block(pb, static_cast<const float*>(pb.cache.tiles), kv, k0, count, kt, v);
    case KvFormat::kF16:
      return read_tile_block(pb, static_cast<const uint16_t*>(pb.cache.tiles), kv, k0, count, kt,
                             v);
    case KvFormat::kI8:
      return read_tile_block(pb, static_cast<const int8_t*>(pb.cache.tiles), kv, k0, count, kt, v);
  }
}

// Query positions [t_begin, t_end) × the query heads of kv head `kv`.
// Row r is position t_begin + r / group, head kv·group + r % group.
void prefill_task(const Problem& pb, int64_t kv, int64_t t_begin, int64_t t_end) {
  const int64_t dim = pb.dim, padded = pb.padded_dim, group = pb.group;
  const int64_t rows = (t_end - t_begin) * group;
  const bool cached = pb.cache.tiles != nullptr;
  // Values go through a block buffer when read from a cache, or to pad them.
  const bool buffer_values = cached || padded != dim;
  // The AVX-512 tiles (attention_prefill.h) take the products where whole
  // vectors of 16 cover the head dimension.
  const bool avx512 = cpu_has_avx512() && dim % 16 == 0;
  Scratch& scratch = kernel_scratch();
  scratch.reserve(region(rows * dim) + region(dim * kKeyBlock) + region(rows * kKeyBlock) +
                  region(rows * padded) + 2 * region(rows) +
                  (buffer_values ? region(kKeyBlock * padded) : 0));
  float* qs = scratch.data();               // [rows][dim], scaled
  float* kt = qs + region(rows * dim);      // [dim][kKeyBlock]
  float* s = kt + region(dim * kKeyBlock);  // [rows][kKeyBlock], scores then p
  float* o = s + region(rows * kKeyBlock);  // [rows][padded], unnormalized output
  float* m = o + region(rows * padded);     // [rows] running max
  float* l = m + region(rows);              // [rows] running denominator
  float* vbuf = l + region(rows);           // [kKeyBlock][padded] if buffer_values

  for (int64_t r = 0; r < rows; ++r) {
    const float* src = pb.q + ((t_begin + r / group) * pb.heads + kv * group + r % group) * dim;
    for (int64_t d = 0; d < dim; ++d) qs[r * dim + d] = src[d] * pb.scale;
    std::fill(o + r * padded, o + (r + 1) * padded, 0.0f);
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }

  const int64_t first_pos = pb.start + t_begin, last_pos = pb.start + t_end - 1;
  const float* kbase = cached ? nullptr : pb.keys + kv * dim;
  const float* vbase = cached ? nullptr : pb.values + kv * dim;
  for (int64_t k0 = 0; k0 <= last_pos; k0 += kKeyBlock) {
    const int64_t count = std::min(kKeyBlock, last_pos + 1 - k0);
    const float* v = vbuf;
    int64_t ldv = padded;
    if (cached) {
      read_cache_block(pb, kv, k0, count, kt, vbuf);
    } else {
      transpose_keys(kbase + k0 * pb.kv_stride, pb.kv_stride, count, dim, kt);
      if (buffer_values) {
        copy_padded(vbase + k0 * pb.kv_stride, pb.kv_stride, count, dim, padded, vbuf);
      } else {
        v = vbase + k0 * pb.kv_stride;
        ldv = pb.kv_stride;
      }
    }
    if (avx512) {
      avx512::prefill_scores(qs, rows, dim, kt, kKeyBlock, round_up(count, 16), s, kKeyBlock);
    } else {
      score_block(qs, rows, dim, kt, round_up(count, 16), s);
    }
    // Only a block reaching past the first row's position needs the mask.
    const bool diagonal = k0 + count - 1 > first_pos;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t visible =
          diagonal ? std::clamp(first_pos + r / group + 1 - k0, int64_t{0}, count) : count;
      softmax_step(s + r * kKeyBlock, visible, round_up(count, 8), m[r], l[r], o + r * padded,
                   padded);
    }
    if (avx512) {
      avx512::prefill_pv(s, kKeyBlock, rows, v, ldv, count, o, padded);
    } else {
      pv_block(s, rows, v, ldv, count, o, padded);
    }
  }

  for (int64_t r = 0; r < rows; ++r) {
    float* dst = pb.out + ((t_begin + r / group) * pb.heads + kv * group + r % group) * dim;
    const float inv = 1.0f / l[r];
    for (int64_t d = 0; d < dim; ++d) dst[d] = o[r * padded + d] * inv;
  }
}

void prefill(const Problem& pb) {
  ThreadPool& pool = ThreadPool::global();
  const auto threads = static_cast<int64_t>(pool.size());
  // About kTargetRows rows per task amortize the K transpose and the V loads;
  // fewer positions when that would leave threads without work.
  const int64_t block = std::max<int64_t>(
      1, std::min(ceil_div(kTargetRows, pb.group), ceil_div(pb.n * pb.kv_heads, 2 * threads)));
  const int64_t query_blocks = ceil_div(pb.n, block);
  const int64_t tasks = query_blocks * pb.kv_heads;
  // Causal tasks differ in cost (later positions see more keys), so threads
  // take tasks from a shared counter, most expensive first, instead of
  // parallel_for's equal contiguous chunks.
  std::atomic<int64_t> next{0};
  pool.parallel_for(static_cast<size_t>(std::min(threads, tasks)), 1, [&](size_t, size_t) {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < tasks;) {
      const int64_t qb = query_blocks - 1 - i / pb.kv_heads;
      prefill_task(pb, i % pb.kv_heads, qb * block, std::min(pb.n, (qb + 1) * block));
    }
  });
}

// ---- decode -------------------------------------------------------------------

// s[j] = q · k[j·ldk ..] over padded_dim floats (a multiple of 8), for j < count.
void dot_keys(const float* q, const float* k, int64_t ldk, int64_t count, int64_t padded_dim,
              float* s) {
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    __m256 acc[8];
    TC_UNROLL
    for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t d = 0; d < padded_dim; d += 8) {
      const __m256 qd = _mm256_loadu_ps(q + d);
      TC_UNROLL
      for (int i = 0; i < 8; ++i)
        acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(k + (j + i) * ldk + d), qd, acc[i]);
    }
    _mm256_storeu_ps(s + j, reduce8(acc));
  }
  for (; j < count; ++j) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t d = 0; d < padded_dim; d += 8)
      acc = _mm256_fmadd_ps(_mm256_loadu_ps(k + j * ldk + d), _mm256_loadu_ps(q + d), acc);
    s[j] = horizontal_sum(acc);
  }
}

// o[0, padded_dim) += Σ_{j<count} p[j] · v[j·ldv ..], up to 64 dims per pass.
void pv_row(const float* p, const float* v, int64_t ldv, int64_t count, float* o,
            int64_t padded_dim) {
  for (int64_t c = 0; c < padded_dim; c += 64) {
    switch (std::min<int64_t>(8, (padded_dim - c) / 8)) {
      case 8:
        pv_tile<1, 8>(p, 0, v + c, ldv, count, o + c, 0);
        break;
      case 7:
        pv_tile<1, 7>(p, 0, v + c, ldv, count, o + c, 0);
        break;
      case 6:
        pv_tile<1, 6>(p, 0, v + c, ldv, count, o + c, 0);
        break;
      case 5:
        pv_tile<1, 5>(p, 0, v + c, ldv, count, o + c, 0);
        break;
      case 4:
        pv_tile<1, 4>(p, 0, v + c, ldv, count, o + c, 0);
        break;
      case 3:
        pv_tile<1, 3>(p, 0, v + c, ldv, count, o + c, 0);
        break;
      case 2:
        pv_tile<1, 2>(p, 0, v + c, ldv, count, o + c, 0);
        break;
      default:
        pv_tile<1, 1>(p, 0, v + c, ldv, count, o + c, 0);
        break;
    }
  }
}

// Decode streams each layer's K and V from memory once per token (2 MB per
// layer at 2048 tokens of Qwen2.5-0.5B, far past the caches).
//  - Keys and values as rows (attention_causal): rows this many keys ahead
//    are requested while a block is computed (measured at 2048 keys: 2.38 →
//    2.15 ms for 24 layers on two threads; further ahead was no better).
constexpr int64_t kPrefetchAhead = kDecodeKeys;
//  - KV tiles (a cache): a task reads its tiles as one stream (TileStream)
//    and prefetches about kStreamLead bytes ahead in it, as the GEMV does in
//    its weights (gemv_prefetch.h). 24 layers at 2048 keys, fp32, two
//    threads, in one sitting: 4 KiB ahead 901-986 us, 8 KiB 807-816, 16 KiB
//    839-888, 32 KiB 920-956; the earlier layout (values as rows, the next
//    block prefetched) 1048-1345.
constexpr int64_t kStreamLead = 8192;

// Prefetches `count` rows of `floats` floats each, `stride` floats apart.
void prefetch_rows(const float* first, int64_t stride, int64_t count, int64_t floats) {
  for (int64_t j = 0; j < count; ++j) {
    const char* row = reinterpret_cast<const char*>(first + j * stride);
    for (int64_t byte = 0; byte < floats * 4; byte += 64) _mm_prefetch(row + byte, _MM_HINT_T0);
  }
}

// Where a decode task's partial results go: for kv head kv, o [group][padded_dim]
// (unnormalized), then m and l [group].
struct Partials {
  float* base;
  int64_t stride;  // floats per (kv head, split)
  int64_t splits;
  int64_t o_size;      // floats of o, rounded to a cache line
  int64_t group_size;  // floats of m (or l), rounded to a cache line
  float* o(int64_t kv, int64_t split) const { return base + (kv * splits + split) * stride; }
  float* m(int64_t kv, int64_t split) const { return o(kv, split) + o_size; }
  float* l(int64_t kv, int64_t split) const { return m(kv, split) + group_size; }
};

// s[j] = q · key j for the 32 slots of one kv head's key tile, fp32, fp16
// or int8 before its scales (slots past the block's keys hold anything; the
// softmax step masks them).
template <typename T>
void dot_key_tile(const float* q, const T* tile, int64_t dim, float* s) {
  static_assert(kKvTileTokens == 32, "four vectors of 8 keys per tile row");
  __m256 acc[4];
  TC_UNROLL
  for (int g = 0; g < 4; ++g) acc[g] = _mm256_setzero_ps();
  for (int64_t d = 0; d < dim; ++d) {
    const __m256 qd = _mm256_broadcast_ss(q + d);
    const T* row = tile + d * kKvTileTokens;
    TC_UNROLL
    for (int g = 0; g < 4; ++g) acc[g] = _mm256_fmadd_ps(qd, load8(row + 8 * g), acc[g]);
  }
  TC_UNROLL
  for (int g = 0; g < 4; ++g) _mm256_storeu_ps(s + 8 * g, acc[g]);
}

// A decode task's KV tiles in the order it reads them: per block, the key
// and value tiles of its kv heads, which lie side by side; the next block's
// follow past the other kv heads' tiles (none when the task reads whole
// rows). The step prefetches the tile `lead` tiles further on.
struct TileStream {
  int64_t tile_size;   // elements of a tile
  int64_t per_block;   // tiles the task reads per block
  int64_t block_size;  // elements of a block (every kv head)
  int64_t lead;        // tiles
  int64_t stored;      // elements of the tiles that hold the context

  // Where the tile `lead` on from tile i of this block's part (starting at
  // `part`) starts, or -1 when it lies past the stored blocks.
  int64_t ahead(int64_t part, int64_t i) const {
    const int64_t j = i + lead;
    const int64_t at = part + j / per_block * block_size + j % per_block * tile_size;
    return at + tile_size <= stored ? at : -1;
  }
};

template <typename T>
TileStream tile_stream(const Problem& pb, int64_t kv_heads_read) {
  const int64_t tile_size = kv_tile_size(pb.dim);
  const int64_t tile_bytes = tile_size * static_cast<int64_t>(sizeof(T));
  return {tile_size, 2 * kv_heads_read, 2 * pb.kv_heads * tile_size,
          std::max<int64_t>(1, kStreamLead / tile_bytes),
          kv_tiles_size(pb.start + 1, pb.kv_heads, pb.dim)};
}

// One block of KV tiles (keys k0 .. k0+count-1) for the query heads of kv
// heads [kv_begin, kv_end), fp32, fp16 or int8 tiles (T).
template <typename T>
void decode_tiles_block(const Problem& pb, const T* kv_tiles, const TileStream& stream,
                        int64_t kv_begin, int64_t kv_end, int64_t k0, int64_t count, bool avx512,
                        const float* qs, float* s, float* l_lanes, float* vwide, float* vpad,
                        const Partials& out, int64_t split) {
  const int64_t dim = pb.dim, padded = pb.padded_dim, group = pb.group;
  const int64_t part = kv_tile_start(k0, kv_begin, pb.kv_heads, dim);
  const auto ahead = [&](int64_t i) {
    const int64_t at = stream.ahead(part, i);
    return at < 0 ? nullptr : kv_tiles + at;
  };
  for (int64_t kv = kv_begin; kv < kv_end; ++kv) {
    const int64_t i = 2 * (kv - kv_begin);  // the head's key tile in the part; its value tile next
    const T* key_tile = kv_tiles + part + i * stream.tile_size;
    const T* value_tile = key_tile + stream.tile_size;
    const float* q = qs + (kv - kv_begin) * group * padded;
    float* o = out.o(kv, split);
    float* m = out.m(kv, split);
    // int8: the block's 32 key scales, then its 32 value scales.
    const uint16_t* scales = std::is_same_v<T, int8_t>
                                 ? pb.cache.scales + kv_key_scale_index(k0, kv, pb.kv_heads)
                                 : nullptr;
    if (avx512) {  // the step prefetches as it reads; nothing is copied
      if constexpr (std::is_same_v<T, int8_t>) {
        avx512::decode_tile_block(q, group, dim, key_tile, value_tile, scales,
                                  scales + kKvTileTokens, count, s, o, m,
                                  l_lanes + (kv - kv_begin) * group * 16, ahead(i), ahead(i + 1));
      } else {
        avx512::decode_tile_block(q, group, dim, key_tile, value_tile, dim, count, s, o, m,
                                  l_lanes + (kv - kv_begin) * group * 16, ahead(i), ahead(i + 1));
      }
      continue;
    }
    // AVX2: the tiles ahead requested at once; fp16 and int8 values
    // widened (int8 times its scales), odd dims padded.
    const int64_t tile_bytes = stream.tile_size * static_cast<int64_t>(sizeof(T));
    for (const T* next : {ahead(i), ahead(i + 1)})
      if (next != nullptr) prefetch_bytes(next, tile_bytes);
    float key_scales[kKvTileTokens];
    const float* v = nullptr;
    if constexpr (std::is_same_v<T, float>) {
      v = value_tile;
    } else {
      for (int64_t j = 0; j < count; ++j) {
        const float scale = scales ? f16_to_f32(scales[kKvTileTokens + j]) : 1.0f;
        widen_scaled(value_tile + j * dim, dim, scale, vwide + j * dim);
        key_scales[j] = scales ? f16_to_f32(scales[j]) : 1.0f;
      }
      v = vwide;
    }
    int64_t ld = dim;
    if (padded != dim) {
      copy_padded(v, ld, count, dim, padded, vpad);
      v = vpad;
      ld = padded;
    }
    float* l = out.l(kv, split);
    for (int64_t r = 0; r < group; ++r) {
      dot_key_tile(q + r * padded, key_tile, dim, s);
      if constexpr (std::is_same_v<T, int8_t>) {
        for (int64_t j = 0; j < count; ++j) s[j] *= key_scales[j];
      }
      softmax_step(s, count, round_up(count, 8), m[r], l[r], o + r * padded, padded);
      pv_row(s, v, ld, count, o + r * padded, padded);
    }
  }
}

// The query heads of kv heads [kv_begin, kv_end) over keys [k_begin, k_end),
// into their partials for `split`. Several kv heads per task read each
// position's keys and values whole, in one pass.
void decode_task(const Problem& pb, int64_t kv_begin, int64_t kv_end, int64_t k_begin,
                 int64_t k_end, const Partials& out, int64_t split) {
  const int64_t dim = pb.dim, padded = pb.padded_dim, group = pb.group;
  const int64_t rows = (kv_end - kv_begin) * group;
  const bool pad = padded != dim;
  const bool tiles = pb.cache.tiles != nullptr;  // a cache's KV tiles, else rows
  // The AVX-512 steps take a whole block for all heads of a group at once.
  const bool avx512 = cpu_has_avx512() && dim % 16 == 0;
  // The AVX2 path widens fp16 and int8 values (not keys: they are scored
  // from their tiles).
  const bool widen_values = tiles && pb.cache.format != KvFormat::kF32 && !avx512;
  Scratch& scratch = kernel_scratch();
  scratch.reserve(region(rows * padded) + region(group * kDecodeKeys) +
                  (pad ? 2 * region(kDecodeKeys * padded) : 0) +
                  (widen_values ? region(kDecodeKeys * dim) : 0) +
                  (avx512 ? region(rows * 16) : 0));
  float* qs = scratch.data();                     // [rows][padded], scaled, zero-padded
  float* s = qs + region(rows * padded);          // [group][kDecodeKeys] scores, then p
  float* kpad = s + region(group * kDecodeKeys);  // [kDecodeKeys][padded] if dim is odd
  float* vpad = kpad + (pad ? region(kDecodeKeys * padded) : 0);
  float* vwide = vpad + (pad ? region(kDecodeKeys * padded) : 0);  // [kDecodeKeys][dim]
  // The AVX-512 step's l: 16 partial sums per query row, added up at the end.
  float* l_lanes = vwide + (widen_values ? region(kDecodeKeys * dim) : 0);
  if (avx512) std::fill(l_lanes, l_lanes + rows * 16, 0.0f);

  for (int64_t r = 0; r < rows; ++r) {
    const float* src = pb.q + (kv_begin * group + r) * dim;
    for (int64_t d = 0; d < padded; ++d) qs[r * padded + d] = d < dim ? src[d] * pb.scale : 0.0f;
  }
  for (int64_t kv = kv_begin; kv < kv_end; ++kv) {
    std::fill(out.o(kv, split), out.o(kv, split) + group * padded, 0.0f);
    std::fill(out.m(kv, split), out.m(kv, split) + group, -INFINITY);
    std::fill(out.l(kv, split), out.l(kv, split) + group, 0.0f);
  }
  const auto tiles_block = [&](auto element, int64_t k0, int64_t count) {
    using T = decltype(element);
    const TileStream stream = tile_stream<T>(pb, kv_end - kv_begin);
    decode_tiles_block(pb, static_cast<const T*>(pb.cache.tiles), stream, kv_begin, kv_end, k0,
                       count, avx512, qs, s, l_lanes, vwide, vpad, out, split);
  };
  for (int64_t k0 = k_begin; k0 < k_end; k0 += kDecodeKeys) {
    const int64_t count = std::min(kDecodeKeys, k_end - k0);
    if (tiles) {
      switch (pb.cache.format) {
        case KvFormat::kF32:
          tiles_block(float{}, k0, count);
          break;
        case KvFormat::kF16:
          tiles_block(uint16_t{}, k0, count);
          break;
        case KvFormat::kI8:
          tiles_block(int8_t{}, k0, count);
          break;
      }
      continue;
    }
    // Keys and values as rows, fp32, the kv heads' rows side by side.
    const int64_t ahead = std::min(kDecodeKeys, k_end - k0 - kPrefetchAhead);
    const int64_t first = k0 * pb.kv_stride + kv_begin * dim;
    const float* keys = pb.keys + first;
    const float* values = pb.values + first;
    const int64_t width = (kv_end - kv_begin) * dim;  // floats of a row this task reads
    if (!avx512) {  // the AVX-512 step prefetches its next block itself
      prefetch_rows(values + kPrefetchAhead * pb.kv_stride, pb.kv_stride, ahead, width);
      prefetch_rows(keys + kPrefetchAhead * pb.kv_stride, pb.kv_stride, ahead, width);
    }
    for (int64_t kv = kv_begin; kv < kv_end; ++kv) {
      const int64_t head_offset = (kv - kv_begin) * dim;
      const float* k = keys + head_offset;
      const float* v = values + head_offset;
      const float* q = qs + (kv - kv_begin) * group * padded;
      float* o = out.o(kv, split);
      float* m = out.m(kv, split);
      float* l = out.l(kv, split);
      if (avx512) {
        const int64_t next = (k0 + kPrefetchAhead) * pb.kv_stride + kv * dim;
        avx512::decode_row_block(q, group, dim, k, v, pb.kv_stride, count, s, o, m,
                                 l_lanes + (kv - kv_begin) * group * 16, pb.keys + next,
                                 pb.values + next, std::max<int64_t>(ahead, 0));
        continue;
      }
      int64_t ld = pb.kv_stride;
      if (pad) {
        copy_padded(k, ld, count, dim, padded, kpad);
        k = kpad;
        copy_padded(v, ld, count, dim, padded, vpad);
        v = vpad;
        ld = padded;
      }
      // Every head of the group over this block while it is in L1.
      for (int64_t r = 0; r < group; ++r) {
        dot_keys(q + r * padded, k, ld, count, padded, s);
        softmax_step(s, count, round_up(count, 8), m[r], l[r], o + r * padded, padded);
        pv_row(s, v, ld, count, o + r * padded, padded);
      }
    }
  }
  if (avx512) {
    for (int64_t kv = kv_begin; kv < kv_end; ++kv) {
      const float* lanes = l_lanes + (kv - kv_begin) * group * 16;
      float* l = out.l(kv, split);
      for (int64_t r = 0; r < group; ++r) {
        float sum = 0.0f;
        for (int i = 0; i < 16; ++i) sum += lanes[r * 16 + i];
        l[r] = sum;
      }
    }
  }
}

void decode(const Problem& pb) {
  ThreadPool& pool = ThreadPool::global();
  const auto threads = static_cast<int64_t>(pool.size());
  const int64_t context = pb.start + 1;
  // A long context is read in whole rows (every kv head per task, one pass
  // over memory) and split into key ranges, two per thread. A short one is
  // split by kv head first, then by keys when the kv heads alone cannot keep
  // the threads busy, never below kMinSplitKeys keys.
  const bool whole_rows = context > kLongContext;
  const int64_t kv_sets = whole_rows ? 1 : pb.kv_heads;
  const int64_t wanted = whole_rows ? 2 * threads : threads;
  int64_t splits = 1;
  if (kv_sets < wanted)
    splits = std::min(ceil_div(wanted, kv_sets), ceil_div(context, kMinSplitKeys));
  const int64_t split_keys = round_up(ceil_div(context, splits), kDecodeKeys);
  splits = ceil_div(context, split_keys);  // every split non-empty
  const int64_t tasks = kv_sets * splits;

  // Partial results per (kv head, split).
  const int64_t o_size = region(pb.group * pb.padded_dim), group_size = region(pb.group);
  const int64_t stride = o_size + 2 * group_size;
  Scratch& partials = partial_scratch();
  partials.reserve(static_cast<size_t>(pb.kv_heads * splits * stride));
  const Partials out{partials.data(), stride, splits, o_size, group_size};
  pool.parallel_for(static_cast<size_t>(tasks), 1, [&](size_t begin, size_t end) {
    for (auto task = static_cast<int64_t>(begin); task < static_cast<int64_t>(end); ++task) {
      const int64_t set = task / splits, split = task % splits;
      const int64_t kv_begin = whole_rows ? 0 : set, kv_end = whole_rows ? pb.kv_heads : set + 1;
      const int64_t k_begin = split * split_keys;
      decode_task(pb, kv_begin, kv_end, k_begin, std::min(context, k_begin + split_keys), out,
                  split);
    }
  });

  // Merge the splits of each head: out = Σ_s e^(m_s - M) o_s / Σ_s e^(m_s - M) l_s.
  for (int64_t kv = 0; kv < pb.kv_heads; ++kv) {
    for (int64_t r = 0; r < pb.group; ++r) {
      float max = -INFINITY;
      for (int64_t sp = 0; sp < splits; ++sp) max = std::max(max, out.m(kv, sp)[r]);
      float* dst = pb.out + (kv * pb.group + r) * pb.dim;
      std::fill(dst, dst + pb.dim, 0.0f);
      float denominator = 0.0f;
      for (int64_t sp = 0; sp < splits; ++sp) {
        const float w = std::exp(out.m(kv, sp)[r] - max);
        denominator += w * out.l(kv, sp)[r];
        const float* o = out.o(kv, sp) + r * pb.padded_dim;
        for (int64_t d = 0; d < pb.dim; ++d) dst[d] += w * o[d];
      }
      const float inv = 1.0f / denominator;
      for (int64_t d = 0; d < pb.dim; ++d) dst[d] *= inv;
    }
  }
}

#undef TC_UNROLL

}  // namespace
}  // namespace avx2
TC_ISA_END

namespace {

Problem make_problem(const float* q, const float* keys, const float* values, int64_t n,
                     int64_t start, const AttentionShape& shape, float* out) {
  const int64_t dim = shape.head_dim;
  return Problem{q,
                 keys,
                 values,
                 out,
                 n,
                 start,
                 shape.heads,
                 shape.kv_heads,
                 dim,
                 shape.heads / shape.kv_heads,
                 shape.kv_heads * dim,
                 round_up(dim, 8),
                 1.0f / std::sqrt(static_cast<float>(dim))};
}

}  // namespace

void attention_causal(const float* q, const float* keys, const float* values, int64_t n,
                      int64_t start, const AttentionShape& shape, float* out) {
  if (n <= 0) return;
  if (!cpu_has_avx2()) return attention_causal_reference(q, keys, values, n, start, shape, out);
  const Problem pb = make_problem(q, keys, values, n, start, shape, out);
  if (n == 1) {
    avx2::decode(pb);
  } else {
    avx2::prefill(pb);
  }
}

namespace {

template <typename T>
void tiles_to_rows(const T* kv_tiles, const uint16_t* scales, int64_t positions, int64_t kv_heads,
                   int64_t head_dim, float* keys, float* values) {
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t h = 0; h < kv_heads; ++h) {
      const float key_scale =
          scales ? f16_to_f32(scales[kv_key_scale_index(p, h, kv_heads)]) : 1.0f;
      const float value_scale =
          scales ? f16_to_f32(scales[kv_value_scale_index(p, h, kv_heads)]) : 1.0f;
      for (int64_t d = 0; d < head_dim; ++d) {
        const int64_t row = (p * kv_heads + h) * head_dim + d;
        keys[row] = widened(kv_tiles[kv_key_index(p, h, d, kv_heads, head_dim)]) * key_scale;
        values[row] = widened(kv_tiles[kv_value_index(p, h, d, kv_heads, head_dim)]) * value_scale;
      }
    }
  }
}

// A cache layer's keys and values as fp32 rows, in buffers of the calling
// thread that are kept between calls: once grown, neither a prefill nor a
// decode step on the scalar fallback allocates.
struct CacheRows {
  std::vector<float> keys, values;
};

const CacheRows& cache_rows(const KvView& kv, int64_t positions, const AttentionShape& shape) {
  thread_local CacheRows rows;
  const auto count = static_cast<size_t>(positions * shape.kv_heads * shape.head_dim);
  if (rows.keys.size() < count) {
    rows.keys.resize(count);
    rows.values.resize(count);
  }
  kv_tiles_to_rows(kv, positions, shape.kv_heads, shape.head_dim, rows.keys.data(),
                   rows.values.data());
  return rows;
}

}  // namespace

void kv_tiles_to_rows(const KvView& kv, int64_t positions, int64_t kv_heads, int64_t head_dim,
                      float* keys, float* values) {
  switch (kv.format) {
    case KvFormat::kF32:
      return tiles_to_rows(static_cast<const float*>(kv.tiles), nullptr, positions, kv_heads,
                           head_dim, keys, values);
    case KvFormat::kF16:
      return tiles_to_rows(static_cast<const uint16_t*>(kv.tiles), nullptr, positions, kv_heads,
                           head_dim, keys, values);
    case KvFormat::kI8:
      if (kv.scales == nullptr) fail("kv_tiles_to_rows: an int8 KV cache view without scales");
      return tiles_to_rows(static_cast<const int8_t*>(kv.tiles), kv.scales, positions, kv_heads,
                           head_dim, keys, values);
  }
  fail("kv_tiles_to_rows: cannot read a {} KV cache", kv_format_name(kv.format));
}

namespace {

// The problem of n queries over a cache layer; tc::Error naming the caller
// for a view its kernels cannot read (checked here, in baseline code, so
// the kernels never need to fail).
Problem cached_problem(const char* caller, const float* q, int64_t n, int64_t start,
                       const KvView& kv, const AttentionShape& shape, float* out) {
  switch (kv.format) {
    case KvFormat::kF32:
    case KvFormat::kF16:
      break;
    case KvFormat::kI8:
      if (kv.scales == nullptr) fail("{}: an int8 KV cache view without scales", caller);
      break;
    default:
      fail("{}: no kernel for KV cache format {}", caller, static_cast<int>(kv.format));
  }
  Problem pb = make_problem(q, nullptr, nullptr, n, start, shape, out);
  pb.cache = kv;
  return pb;
}

}  // namespace

void attention_prefill(const float* q, int64_t n, int64_t start, const KvView& kv,
                       const AttentionShape& shape, float* out) {
  if (n <= 0) return;
  if (!cpu_has_avx2()) return attention_cached_reference(q, n, start, kv, shape, out);
  const Problem pb = cached_problem("attention_prefill", q, n, start, kv, shape, out);
  if (n == 1) {
    avx2::decode(pb);
  } else {
    avx2::prefill(pb);
  }
}

void attention_decode(const float* q, int64_t start, const KvView& kv, const AttentionShape& shape,
                      float* out) {
  if (!cpu_has_avx2()) return attention_cached_reference(q, 1, start, kv, shape, out);
  avx2::decode(cached_problem("attention_decode", q, 1, start, kv, shape, out));
}

void attention_cached_reference(const float* q, int64_t n, int64_t start, const KvView& kv,
                                const AttentionShape& shape, float* out) {
  const CacheRows& rows = cache_rows(kv, start + n, shape);
  attention_causal_reference(q, rows.keys.data(), rows.values.data(), n, start, shape, out);
}

}  // namespace tc::kernels
