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
void attention_causal(const float* q, const float* keys, const float* values, int64_t n,
                      int64_t start, const AttentionShape& shape, float* out);

}  // namespace tc::kernels
