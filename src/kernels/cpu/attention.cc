#include "kernels/cpu/attention.h"

#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu/dot.h"

namespace tc::kernels {

void attention_causal(const float* q, const float* keys, const float* values, int64_t n,
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

}  // namespace tc::kernels
