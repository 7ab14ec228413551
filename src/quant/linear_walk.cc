#include "quant/linear_walk.h"

#include "model/block_tensors.h"

namespace tc::quant {

void for_each_linear(
    model::Qwen2Weights& weights,
    const std::function<void(int64_t, const std::string&, weights::WeightMatrix&)>& fn) {
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    for (const model::BlockTensor& tensor : model::block_tensors()) {
      if (tensor.role != model::TensorRole::kLinear) continue;
      fn(static_cast<int64_t>(l), std::string(model::linear_name(tensor)),
         weights.layers[l].*tensor.matrix);
    }
  }
}

}  // namespace tc::quant
