// The tensors of one decoder block, listed once: their checkpoint names,
// shapes (in terms of the config), roles and where LayerWeights keeps them.
// The loader, the checkpoint writers, the random-checkpoint generator,
// the Linear walk of the quantizers and pruning, GPTQ and the cost model all
// iterate this list, so a block tensor is added here and nowhere else.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "model/qwen2.h"

namespace tc::model {

// A dimension of a block tensor, resolved against a config by block_dim().
enum class BlockDim { kHidden, kQDim, kKvDim, kIntermediate };

enum class TensorRole {
  kNorm,    // RMSNorm weight [hidden], fp32 in memory
  kLinear,  // a WeightMatrix [rows, cols] in the model's weight format
  kBias,    // a Linear's bias [rows], fp32 in memory
};

struct BlockTensor {
  std::string_view name;  // after "model.layers.<l>.", e.g. "self_attn.q_proj.weight"
  TensorRole role;
  BlockDim rows;  // vectors: their length
  BlockDim cols;  // Linears only
  // Linears: which input they read (the Linears of one kind share it).
  LinearKind input;
  WeightMatrix LayerWeights::*matrix;        // Linears
  std::vector<float> LayerWeights::*vector;  // norms and biases
};

// Every tensor of a block, in checkpoint order.
std::span<const BlockTensor> block_tensors();

int64_t block_dim(const ModelConfig& config, BlockDim dim);
// "model.layers.<layer>.<tensor.name>"
std::string block_tensor_name(int64_t layer, const BlockTensor& tensor);
// A Linear's name without ".weight" ("self_attn.q_proj"), as reports list it.
std::string_view linear_name(const BlockTensor& tensor);
// The shape a config implies: {rows, cols} for Linears, {rows} for vectors.
std::vector<int64_t> block_tensor_shape(const ModelConfig& config, const BlockTensor& tensor);

}  // namespace tc::model
