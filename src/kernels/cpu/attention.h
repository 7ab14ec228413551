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
// kernel; decode (n == 1) streams the cache once (AVX-512 where the CPU has
// it) and splits long contexts across threads. Scratch memory is O(block
// sizes), per thread.
void attention_causal(const float* q, const float* keys, const float* values, int64_t n,
                      int64_t start, const AttentionShape& shape, float* out);

// Decode (one query, at position `start`) over an fp16 KV cache: keys and
// values [start+1, kv_heads, head_dim] as IEEE half bits. The result equals
// attention_causal on the same keys and values widened to fp32 (the same
// kernel runs on blocks of 32 keys widened on the fly), while the cache
// streamed per step is half the bytes.
void attention_decode_f16(const float* q, const uint16_t* keys, const uint16_t* values,
                          int64_t start, const AttentionShape& shape, float* out);

// The scalar reference twin of attention_causal (same contract): one task
// per (position, head), all scores of a query materialized, then softmax and
// the weighted sum of values. Used by tests and benchmarks as the baseline,
// and as the fallback on CPUs without AVX2.
void attention_causal_reference(const float* q, const float* keys, const float* values, int64_t n,
                                int64_t start, const AttentionShape& shape, float* out);

}  // namespace tc::kernels
