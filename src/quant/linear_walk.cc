#include "quant/linear_walk.h"

namespace tc::quant {

void for_each_linear(
    model::Qwen2Weights& weights,
    const std::function<void(int64_t, const std::string&, kernels::WeightMatrix&)>& fn) {
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    model::LayerWeights& layer = weights.layers[l];
    const auto index = static_cast<int64_t>(l);
    fn(index, "self_attn.q_proj", layer.q_proj);
    fn(index, "self_attn.k_proj", layer.k_proj);
    fn(index, "self_attn.v_proj", layer.v_proj);
    fn(index, "self_attn.o_proj", layer.o_proj);
    fn(index, "mlp.gate_proj", layer.gate_proj);
    fn(index, "mlp.up_proj", layer.up_proj);
    fn(index, "mlp.down_proj", layer.down_proj);
  }
}

}  // namespace tc::quant
