// Causal grouped-query attention: over fp32 keys and values as rows, and
// over a KV cache's layer (kv/kv_layout.h) in the cache's own format.
#pragma once

#include <cstdint>

#include "kv/kv_layout.h"

namespace tc::kernels {

using kv::KvFormat;
using kv::KvView;

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
