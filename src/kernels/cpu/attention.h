// Causal grouped-query attention over fp32 keys and values.
#pragma once

#include <cstdint>

namespace tc::kernels {

struct AttentionShape {
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
};

// q: [n, heads, head_dim], the queries of positions start .. start+n-1.
// keys, values: [start+n, kv_heads, head_dim], every position so far.
// out: [n, heads, head_dim]. Query head h reads key/value head
// h / (heads / kv_heads). Query at position p sees keys 0..p.
// Scores are scaled by 1/sqrt(head_dim); softmax in fp32 with max subtraction.
//
// The fast path, chosen at run time by CPU features (AVX2+FMA, else the
// reference below). Prefill (n > 1) is a tiled online-softmax ("flash")
// kernel; decode (n == 1) streams the keys and values once (AVX-512 where
// the CPU has it) and splits long contexts across threads. Scratch memory
// is O(block sizes), per thread. The model's decode reads its KV cache
// through attention_decode_f32/_f16 below instead (keys in key tiles).
void attention_causal(const float* q, const float* keys, const float* values, int64_t n,
                      int64_t start, const AttentionShape& shape, float* out);

// How the KV cache lays out its keys for decode ("key tiles"): positions
// in tiles of kKeyTileTokens, and within a tile each kv head's keys
// dimension-major, row d holding dimension d of the tile's 32 positions (a
// 64-byte cache line). Decode then scores 16 keys with one FMA per query
// head and dimension and reduces nothing; rows of keys needed a 16-way
// reduction per 16 scores and a widened copy (measured: attention.cc).
// Values stay rows, [position][kv_heads][head_dim].
constexpr int64_t kKeyTileTokens = 32;

// Where dimension d of kv head `head` at `position` sits in key tiles.
constexpr int64_t key_tile_index(int64_t position, int64_t head, int64_t d, int64_t kv_heads,
                                 int64_t head_dim) {
  return ((position / kKeyTileTokens * kv_heads + head) * head_dim + d) * kKeyTileTokens +
         position % kKeyTileTokens;
}

// Elements of key tiles holding `positions` positions (whole tiles).
constexpr int64_t key_tiles_size(int64_t positions, int64_t kv_heads, int64_t head_dim) {
  return (positions + kKeyTileTokens - 1) / kKeyTileTokens * kKeyTileTokens * kv_heads * head_dim;
}

// The keys of positions [0, positions) from key tiles into rows,
// [positions][kv_heads][head_dim], fp16 widened (prefill over a cache, and
// the decode fallbacks without AVX2).
void key_tiles_to_rows(const float* key_tiles, int64_t positions, int64_t kv_heads,
                       int64_t head_dim, float* rows);
void key_tiles_to_rows(const uint16_t* key_tiles, int64_t positions, int64_t kv_heads,
                       int64_t head_dim, float* rows);

// Decode (one query, at position `start`) over a KV cache that keeps its
// keys in key tiles holding the start+1 positions (the last tile's later
// slots are read and ignored, whatever they hold) and its values as rows,
// [start+1, kv_heads, head_dim]: fp32, or fp16 as IEEE half bits (half the
// bytes streamed per step). The result equals attention_causal on the same
// keys and values (widened to fp32) as rows.
void attention_decode_f32(const float* q, const float* key_tiles, const float* values,
                          int64_t start, const AttentionShape& shape, float* out);
void attention_decode_f16(const float* q, const uint16_t* key_tiles, const uint16_t* values,
                          int64_t start, const AttentionShape& shape, float* out);

// The scalar reference twin of attention_causal (same contract): one task
// per (position, head), all scores of a query materialized, then softmax and
// the weighted sum of values. Used by tests and benchmarks as the baseline,
// and as the fallback on CPUs without AVX2.
void attention_causal_reference(const float* q, const float* keys, const float* values, int64_t n,
                                int64_t start, const AttentionShape& shape, float* out);

}  // namespace tc::kernels
