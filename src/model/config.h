// The shape and constants of a Qwen2-family decoder, read from config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tc::model {

struct ModelConfig {
  std::string architecture = "Qwen2ForCausalLM";
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_heads unless config.json says otherwise
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  std::vector<int32_t> eos_token_ids;  // generation stops at any of these
  std::string torch_dtype;             // as stored, informational

  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
};

}  // namespace tc::model
