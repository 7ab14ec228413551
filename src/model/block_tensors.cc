#include "model/block_tensors.h"

#include <array>

#include "core/error.h"

namespace tc::model {

namespace {

using enum BlockDim;
using enum TensorRole;

constexpr std::array<BlockTensor, 12> kBlockTensors{{
    {"input_layernorm.weight", kNorm, kHidden, kHidden, LinearKind::kQkv, nullptr,
     &LayerWeights::input_norm},
    {"self_attn.q_proj.weight", kLinear, kQDim, kHidden, LinearKind::kQkv, &LayerWeights::q_proj,
     nullptr},
    {"self_attn.q_proj.bias", kBias, kQDim, kHidden, LinearKind::kQkv, nullptr,
     &LayerWeights::q_bias},
    {"self_attn.k_proj.weight", kLinear, kKvDim, kHidden, LinearKind::kQkv, &LayerWeights::k_proj,
     nullptr},
    {"self_attn.k_proj.bias", kBias, kKvDim, kHidden, LinearKind::kQkv, nullptr,
     &LayerWeights::k_bias},
    {"self_attn.v_proj.weight", kLinear, kKvDim, kHidden, LinearKind::kQkv, &LayerWeights::v_proj,
     nullptr},
    {"self_attn.v_proj.bias", kBias, kKvDim, kHidden, LinearKind::kQkv, nullptr,
     &LayerWeights::v_bias},
    {"self_attn.o_proj.weight", kLinear, kHidden, kQDim, LinearKind::kO, &LayerWeights::o_proj,
     nullptr},
    {"post_attention_layernorm.weight", kNorm, kHidden, kHidden, LinearKind::kGateUp, nullptr,
     &LayerWeights::post_attention_norm},
    {"mlp.gate_proj.weight", kLinear, kIntermediate, kHidden, LinearKind::kGateUp,
     &LayerWeights::gate_proj, nullptr},
    {"mlp.up_proj.weight", kLinear, kIntermediate, kHidden, LinearKind::kGateUp,
     &LayerWeights::up_proj, nullptr},
    {"mlp.down_proj.weight", kLinear, kHidden, kIntermediate, LinearKind::kDown,
     &LayerWeights::down_proj, nullptr},
}};

}  // namespace

std::span<const BlockTensor> block_tensors() { return kBlockTensors; }

int64_t block_dim(const ModelConfig& config, BlockDim dim) {
  switch (dim) {
    case kHidden:
      return config.hidden_size;
    case kQDim:
      return config.q_dim();
    case kKvDim:
      return config.kv_dim();
    case kIntermediate:
      return config.intermediate_size;
  }
  fail("block_dim: unknown dimension {}", static_cast<int>(dim));
}

std::string block_tensor_name(int64_t layer, const BlockTensor& tensor) {
  return "model.layers." + std::to_string(layer) + "." + std::string(tensor.name);
}

std::string_view linear_name(const BlockTensor& tensor) {
  std::string_view name = tensor.name;
  constexpr std::string_view kSuffix = ".weight";
  if (name.ends_with(kSuffix)) name.remove_suffix(kSuffix.size());
  return name;
}

std::vector<int64_t> block_tensor_shape(const ModelConfig& config, const BlockTensor& tensor) {
  if (tensor.role == kLinear)
    return {block_dim(config, tensor.rows), block_dim(config, tensor.cols)};
  return {block_dim(config, tensor.rows)};
}

}  // namespace tc::model
