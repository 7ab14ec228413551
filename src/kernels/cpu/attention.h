// Causal grouped-query attention: over fp32 keys and values as rows, and
// over a KV cache's layer (kv_view.h) in the cache's own format.
#pragma once

#include <cstdint>

#include "kernels/cpu/kv_view.h"

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
// is O(block sizes), per thread. Attention over a KV cache goes through
// attention_prefill and attention_decode below instead.
void attention_causal(const float* q, const float* keys, const float* values, int64_t n,
                      int64_t start, const AttentionShape& shape, float* out);

// How the KV cache lays out one layer ("KV tiles"): positions in blocks of
// kKvTileTokens; within a block, for each kv head in turn, its key tile and
// then its value tile.
//  - A key tile is dimension-major: row d holds dimension d of the block's
//    32 positions (a 64-byte cache line in fp16). Decode scores 16 keys with
//    one FMA per query head and dimension and reduces nothing; keys as rows
//    needed a 16-way reduction per 16 scores (measured: attention.cc).
//  - A value tile is position-major: row j holds position j's head_dim values.
// So decode, which reads a block's kv heads in order, reads a layer as one
// sequential stream, which its prefetch runs a fixed distance ahead in
// (attention.cc). With the values as rows beside the key tiles (two
// streams), 24 layers at 2048 keys on two threads (attention_bench
// DecodeLayers, four interleaved pairs) took 1116-1368 us in fp32 and
// 648-669 in fp16; as KV tiles 875-1120 and 581-600.
constexpr int64_t kKvTileTokens = 32;

// Elements of one kv head's key tile (or value tile).
constexpr int64_t kv_tile_size(int64_t head_dim) { return kKvTileTokens * head_dim; }

// Where the key tile of kv head `head` for the block holding `position`
// starts; the head's value tile follows it.
constexpr int64_t kv_tile_start(int64_t position, int64_t head, int64_t kv_heads,
                                int64_t head_dim) {
  return (position / kKvTileTokens * kv_heads + head) * 2 * kv_tile_size(head_dim);
}

// Where dimension d of the key (value) of kv head `head` at `position` sits.
constexpr int64_t kv_key_index(int64_t position, int64_t head, int64_t d, int64_t kv_heads,
                               int64_t head_dim) {
  return kv_tile_start(position, head, kv_heads, head_dim) + d * kKvTileTokens +
         position % kKvTileTokens;
}
constexpr int64_t kv_value_index(int64_t position, int64_t head, int64_t d, int64_t kv_heads,
                                 int64_t head_dim) {
  return kv_tile_start(position, head, kv_heads, head_dim) + kv_tile_size(head_dim) +
         position % kKvTileTokens * head_dim + d;
}

// Elements of KV tiles holding `positions` positions (whole blocks).
constexpr int64_t kv_tiles_size(int64_t positions, int64_t kv_heads, int64_t head_dim) {
  return (positions + kKvTileTokens - 1) / kKvTileTokens * kv_heads * 2 * kv_tile_size(head_dim);
}

// The keys and values of positions [0, positions) of a cache layer into
// rows, [positions][kv_heads][head_dim] each, widened to fp32. Throws
// tc::Error for a format it cannot read.
void kv_tiles_to_rows(const KvView& kv, int64_t positions, int64_t kv_heads, int64_t head_dim,
                      float* keys, float* values);

// Attention over a KV cache layer: n queries at positions start ..
// start+n-1 (q as in attention_causal) over a layer holding start+n
// positions. Each switches over kv.format and throws tc::Error for a format
// it has no kernel for (never a silent fallback to another format).
//  - attention_prefill copies the layer out into fp32 rows (per-thread
//    scratch, kept between calls) and runs attention_causal on them: a
//    prefill's work grows with n · (start + n), the copy with start + n.
//  - attention_decode (one query, at position `start`) reads the KV tiles in
//    place, fp32 or fp16 (the last block's later slots are read and
//    ignored, whatever they hold). The result equals attention_causal on
//    the same keys and values (widened to fp32) as rows.
void attention_prefill(const float* q, int64_t n, int64_t start, const KvView& kv,
                       const AttentionShape& shape, float* out);
void attention_decode(const float* q, int64_t start, const KvView& kv, const AttentionShape& shape,
                      float* out);

// The scalar reference twin of attention_causal (same contract): one task
// per (position, head), all scores of a query materialized, then softmax and
// the weighted sum of values. Used by tests and benchmarks as the baseline,
// and as the fallback on CPUs without AVX2.
void attention_causal_reference(const float* q, const float* keys, const float* values, int64_t n,
                                int64_t start, const AttentionShape& shape, float* out);

// The scalar twin of attention_prefill and attention_decode (n = 1): the
// layer copied out into rows, then attention_causal_reference.
void attention_cached_reference(const float* q, int64_t n, int64_t start, const KvView& kv,
                                const AttentionShape& shape, float* out);

}  // namespace tc::kernels
