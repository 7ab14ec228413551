// The AVX-512 step of decode attention (attention_decode_avx512.cc): one key
// block for all query heads of a GQA group. attention.cc keeps the rest of
// decode (the split of long contexts across threads and the merge); this
// step replaces its AVX2 per-head loop where the CPU has AVX-512.
#pragma once

#include <cstdint>

namespace tc::kernels {

// Most keys in one block (the s scratch holds this many per head).
constexpr int64_t kDecodeBlockKeys = 32;

// Requests the cache lines of [p, p + bytes) into L1 (the look-ahead of
// the AVX2 loops that widen fp16 value rows).
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* first = static_cast<const char*>(p);
  for (int64_t byte = 0; byte < bytes; byte += 64) __builtin_prefetch(first + byte, 0, 3);
}

namespace avx512 {

// For query rows h < group over `count` (1..32) keys k[j·ld ..], v[j·ld ..]:
//   s[h][j] = qs[h] · k[j] (qs already scaled by 1/sqrt(dim)), then the
//   online-softmax step: m[h] = max(m[h], max_j s[h][j]); p = e^(s - m[h]);
//   l[h] = l[h]·e^(m_old - m[h]) + Σ p; o[h] = o[h]·e^(m_old - m[h]) + Σ_j p[j]·v[j].
// l is kept as 16 partial sums per row, l_lanes [group][16] (l[h] = the sum
// of row h's 16; start them at 0). qs, o: [group][dim]; s: scratch
// [group][kDecodeBlockKeys]. dim must be a multiple of 16. next_k / next_v:
// the first of next_count (0..32) rows, same ld, of a later block; they are
// prefetched a share per head, between the score passes (requested all at
// once they stalled on the miss queue, and left 24 layers at 2048 keys 25%
// slower). Call only when cpu_has_avx512().
void decode_row_block(const float* qs, int64_t group, int64_t dim, const float* k, const float* v,
                      int64_t ld, int64_t count, float* s, float* o, float* m, float* l_lanes,
                      const float* next_k, const float* next_v, int64_t next_count);

// The same step over a cache's KV tiles (attention.h), fp32 or fp16 (IEEE
// half bits): the block's keys are one kv head's key tile (tile[d·
// kDecodeBlockKeys + j] = key j, dimension d, all 32 slots readable; slots
// from count on are ignored), its values rows v[j·ld ..] of the same type
// (a value tile: ld = dim). next_tile / next_v (or null): where to prefetch,
// a tile's worth from each, a row per loop iteration as this block's key
// and value rows are read. dim must be a multiple of 16. Call only when
// cpu_has_avx512().
void decode_tile_block(const float* qs, int64_t group, int64_t dim, const uint16_t* tile,
                       const uint16_t* v, int64_t ld, int64_t count, float* s, float* o, float* m,
                       float* l_lanes, const uint16_t* next_tile, const uint16_t* next_v);
void decode_tile_block(const float* qs, int64_t group, int64_t dim, const float* tile,
                       const float* v, int64_t ld, int64_t count, float* s, float* o, float* m,
                       float* l_lanes, const float* next_tile, const float* next_v);
// The step over an int8 cache's tiles: the key tile and value tile (ld =
// dim) hold int8_t, and key_scales / value_scales the block's 32 fp16
// scales of each. A score is the integer keys' dot product times its key
// scale; each p is multiplied by its value scale before P·V (l sums the
// unscaled p). The integers are widened in registers, never into memory.
void decode_tile_block(const float* qs, int64_t group, int64_t dim, const int8_t* tile,
                       const int8_t* v, const uint16_t* key_scales, const uint16_t* value_scales,
                       int64_t count, float* s, float* o, float* m, float* l_lanes,
                       const int8_t* next_tile, const int8_t* next_v);

}  // namespace avx512

}  // namespace tc::kernels
