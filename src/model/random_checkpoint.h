// Random-weight Qwen2 checkpoints in Hugging Face layout, in the real
// Qwen2.5 shapes, for speed and memory work without downloading anything
// (`tinycompress init-random`). The folder holds config.json,
// generation_config.json, model.safetensors (bf16) and a synthetic tokenizer
// (tokenizer/synthetic_tokenizer.h), and loads like a real checkpoint.
//
// Weights: matrices and embeddings ~N(0, 0.02²) (a sum of four uniforms,
// bounded at ±3.5σ), biases ~N(0, 0.01²), RMSNorm weights 1. Every value is
// a function of (seed, tensor name, index) only, so the same seed gives
// byte-identical files whatever the thread count. The weights are generated
// and written in chunks: memory stays at a few MB even for the 6 GB 3B file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"

namespace tc::model {

struct RandomCheckpointSpec {
  std::string name;  // the preset name, recorded in the safetensors metadata
  // Shapes and constants written to config.json. eos_token_ids[0] must be
  // the tokenizer's <|endoftext|>, i.e. tokenizer_learned_tokens.
  ModelConfig config;
  // Tokens the synthetic BPE tokenizer learns (256 bytes + merges); its 22
  // added tokens follow, so vocab_size must be at least this + 22.
  int64_t tokenizer_learned_tokens = 151643;
  uint64_t seed = 0;
  double weight_std = 0.02;
  double bias_std = 0.01;
};

// The --like names: "qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-3b".
std::vector<std::string> random_checkpoint_presets();

// The spec of a preset (seed 0). Also accepts "tiny" (hidden 64, 2 layers,
// vocab 512, 490 learned tokens), a checkpoint small enough for tests.
// Throws tc::Error listing the presets for any other name.
RandomCheckpointSpec random_checkpoint_preset(const std::string& like);

// The tensors of a Qwen2 checkpoint with `config`, in file order (embedding,
// layer by layer, final norm, lm_head when untied).
std::vector<io::TensorSpec> qwen2_tensor_specs(const ModelConfig& config, DType dtype);

// Called now and then while model.safetensors is written.
using WriteProgress = std::function<void(size_t bytes_written, size_t bytes_total)>;

struct RandomCheckpointInfo {
  int64_t parameters = 0;        // elements of all tensors
  size_t safetensors_bytes = 0;  // size of model.safetensors
};

// Creates `dir` if needed and writes the checkpoint into it (each file
// atomically). Throws tc::Error for an inconsistent spec or a write failure.
RandomCheckpointInfo write_random_checkpoint(const std::string& dir,
                                             const RandomCheckpointSpec& spec,
                                             const WriteProgress& progress = {});

}  // namespace tc::model
