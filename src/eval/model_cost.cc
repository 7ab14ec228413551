#include "eval/model_cost.h"

#include "core/error.h"
#include "model/block_tensors.h"

namespace tc::eval {

size_t decode_weight_bytes_per_token(const model::Qwen2Model& model) {
  const model::Qwen2Weights& w = model.weights();
  size_t total = model.lm_head().bytes() + w.final_norm.size() * sizeof(float);
  for (const model::LayerWeights& layer : w.layers) {
    for (const model::BlockTensor& tensor : model::block_tensors()) {
      total += tensor.role == model::TensorRole::kLinear
                   ? (layer.*tensor.matrix).bytes()
                   : (layer.*tensor.vector).size() * sizeof(float);
    }
  }
  // The embedding lookup reads one row (and that row's share of the scales).
  const model::WeightMatrix& embed = w.embed_tokens;
  if (embed.rows > 0) {
    total += static_cast<size_t>(embed.row_bytes()) + embed.scales.size() / embed.rows;
  }
  return total;
}

ForwardFlops forward_flops(const model::ModelConfig& config, int64_t tokens, int64_t cached_tokens,
                           int64_t logits_rows) {
  if (tokens < 0 || cached_tokens < 0 || logits_rows < 0 || logits_rows > tokens) {
    fail("forward_flops: bad counts (tokens {}, cached {}, logits rows {})", tokens, cached_tokens,
         logits_rows);
  }
  // Weights (rows x cols) of one layer's Linears, from the block's tensor list.
  int64_t layer_weights = 0;
  for (const model::BlockTensor& tensor : model::block_tensors()) {
    if (tensor.role != model::TensorRole::kLinear) continue;
    layer_weights += model::block_dim(config, tensor.rows) * model::block_dim(config, tensor.cols);
  }
  ForwardFlops flops;
  flops.matmul = 2 * tokens * layer_weights * config.num_layers +
                 2 * logits_rows * config.vocab_size * config.hidden_size;
  // Positions p = cached .. cached + tokens - 1 each attend to p + 1 keys:
  // sum of (p + 1) = tokens * (2 * cached + tokens + 1) / 2. Per key, every
  // head does head_dim multiply-adds for the score and head_dim for the value.
  const int64_t attended = tokens * (2 * cached_tokens + tokens + 1) / 2;
  flops.attention = 2 * 2 * config.head_dim * config.num_heads * attended * config.num_layers;
  return flops;
}

}  // namespace tc::eval
