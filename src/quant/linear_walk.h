// Visiting every Linear weight of the decoder layers by name, so a method
// can rewrite them (quantize, prune) without knowing the layer structure.
// Embeddings and lm_head are not visited: each method states its own policy
// for them.
#pragma once

#include <functional>
#include <string>

#include "model/qwen2.h"

namespace tc::quant {

// fn(layer index, name such as "self_attn.q_proj", matrix).
void for_each_linear(
    model::Qwen2Weights& weights,
    const std::function<void(int64_t, const std::string&, weights::WeightMatrix&)>& fn);

}  // namespace tc::quant
