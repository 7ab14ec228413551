// The AVX-512 step of decode attention (attention_decode_avx512.cc): one key
// block for all query heads of a GQA group. attention.cc keeps the rest of
// decode (the split of long contexts across threads and the merge); this
// step replaces its AVX2 per-head loop where the CPU has AVX-512. Raw
// pointers only: the implementation is compiled with AVX-512 flags.
#pragma once

#include <cstdint>

namespace tc::kernels {

// Most keys in one block (the s scratch holds this many per head).
constexpr int64_t kDecodeBlockKeys = 32;

// Requests the cache lines of [p, p + bytes) into L1 (the look-ahead of
// the loops that widen fp16 cache rows).
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* first = static_cast<const char*>(p);
  for (int64_t byte = 0; byte < bytes; byte += 64) __builtin_prefetch(first + byte, 0, 3);
}

// For query rows h < group over `count` (1..32) keys k[j·ld ..], v[j·ld ..]:
//   s[h][j] = qs[h] · k[j] (qs already scaled by 1/sqrt(dim)), then the
//   online-softmax step: m[h] = max(m[h], max_j s[h][j]); p = e^(s - m[h]);
//   l[h] = l[h]·e^(m_old - m[h]) + Σ p; o[h] = o[h]·e^(m_old - m[h]) + Σ_j p[j]·v[j].
// l is kept as 16 partial sums per row, l_lanes [group][16] (l[h] = the sum
// of row h's 16; start them at 0). qs, o: [group][dim]; s: scratch
// [group][kDecodeBlockKeys]. dim must be a
// multiple of 16. next_k / next_v: the first of next_count (0..32) rows, same
// ld, of a later block; they are prefetched a share per head, between the
// score passes (requested all at once they stalled on the miss queue, and
// left 24 layers at 2048 keys 25% slower). next_k == nullptr says the block
// is already in L1, widened from fp16 by widen_f16_heads_avx512: its rows are
// then dim apart (ld is not used) and it is scored two heads per key load.
// Call only when cpu_has_avx512().
void decode_block_avx512(const float* qs, int64_t group, int64_t dim, const float* k,
                         const float* v, int64_t ld, int64_t count, float* s, float* o, float* m,
                         float* l_lanes, const float* next_k, const float* next_v,
                         int64_t next_count);

// dst[(h·kDecodeBlockKeys + j)·dim + c] = src[j·stride + h·dim + c] widened
// from fp16 for j < count, h < heads, c < dim (a multiple of 16): each kv
// head's block contiguous, its rows dim apart, as decode_block_avx512 reads
// blocks in L1. While row j is widened, the row `ahead` rows later is
// prefetched (for j < ahead_count). Call only when cpu_has_avx512().
void widen_f16_heads_avx512(const uint16_t* src, int64_t stride, int64_t count, int64_t heads,
                            int64_t dim, int64_t ahead, int64_t ahead_count, float* dst);

}  // namespace tc::kernels
