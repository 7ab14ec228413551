// The Qwen2 decoder: weights and the forward pass (prefill of many tokens
// or one-token decode, both through the KV cache).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kernels/cpu/ops.h"
#include "kernels/cpu/weight_matrix.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace tc::model {

using kernels::WeightFormat;
using kernels::WeightMatrix;

struct LayerWeights {
  std::vector<float> input_norm;        // [hidden]
  WeightMatrix q_proj, k_proj, v_proj;  // [q_dim | kv_dim, hidden]
  std::vector<float> q_bias, k_bias, v_bias;
  WeightMatrix o_proj;                     // [hidden, q_dim]
  std::vector<float> post_attention_norm;  // [hidden]
  WeightMatrix gate_proj, up_proj;         // [intermediate, hidden]
  WeightMatrix down_proj;                  // [hidden, intermediate]
};

struct Qwen2Weights {
  WeightMatrix embed_tokens;            // [vocab, hidden]
  std::optional<WeightMatrix> lm_head;  // absent when tied to embed_tokens
  std::vector<float> final_norm;        // [hidden]
  std::vector<LayerWeights> layers;
};

// Which positions get logits.
enum class LogitsFor { kLastToken, kAllTokens, kNone };

// Per-layer activations for comparison with transformers' hidden_states:
// entry 0 the embeddings, entry i the output of layer i, the last entry
// after the final norm. Each [n, hidden].
using HiddenStates = std::vector<std::vector<float>>;

// Wall-clock seconds spent in each part of the forward pass, summed over
// calls while attached with Qwen2Model::set_profile (for "where the time goes").
// mlp includes the SiLU·mul, which the gate's matmul applies as it goes;
// elementwise is the residual adds.
struct ForwardProfile {
  double embedding = 0, norms = 0, qkv_projection = 0, rope = 0, attention = 0,
         output_projection = 0, mlp = 0, lm_head = 0, elementwise = 0;
  int64_t calls = 0;
  double total() const {
    return embedding + norms + qkv_projection + rope + attention + output_projection + mlp +
           lm_head + elementwise;
  }
};

// The Linear groups whose inputs an observer sees (q/k/v share one input, as
// do gate/up).
enum class LinearKind { kQkv, kO, kGateUp, kDown };

// Called with the [n, cols] fp32 input of a Linear group right before its
// matmuls (calibration: GPTQ accumulates XᵀX from it). May throw to stop the
// forward early; the cache is then left uncommitted and should be dropped.
using LinearInputObserver =
    std::function<void(int64_t layer, LinearKind kind, const float* x, int64_t n, int64_t cols)>;

class Qwen2Model {
 public:
  Qwen2Model(ModelConfig config, Qwen2Weights weights);

  const ModelConfig& config() const { return config_; }
  const Qwen2Weights& weights() const { return weights_; }
  // For methods that rewrite weights in place (quantizers, pruning, GPTQ).
  Qwen2Weights& mutable_weights() { return weights_; }
  // The format of the decoder Linears (methods may rewrite them after load).
  WeightFormat weight_format() const {
    return weights_.layers.empty() ? weights_.embed_tokens.format
                                   : weights_.layers[0].q_proj.format;
  }
  const WeightMatrix& lm_head() const {
    return weights_.lm_head ? *weights_.lm_head : weights_.embed_tokens;
  }
  // Bytes of weights held in memory (tied embeddings counted once).
  size_t weight_bytes() const;

  // Runs `tokens` at positions cache.length() onwards, stores their keys and
  // values in the cache and returns logits ([1 or n, vocab], row-major) as
  // asked. Throws tc::Error for an id outside the vocabulary.
  std::vector<float> forward(std::span<const int32_t> tokens, KvCache& cache,
                             LogitsFor which = LogitsFor::kLastToken,
                             HiddenStates* hidden_states = nullptr);

  // Like forward, with logits for the tokens from index `first_row` on
  // ([n - first_row, vocab]): perplexity needs only the rows it scores.
  std::vector<float> forward_logits_from(std::span<const int32_t> tokens, KvCache& cache,
                                         int64_t first_row);

  // Perplexity's batched path: `tokens` holds `windows` independent sequences
  // of equal length, back to back, each run from position 0 with no cache
  // (attention stays inside each sequence), so every matmul sees all of them
  // at once. Returns logits for rows first_row .. length-1 of every sequence,
  // [windows · (length - first_row), vocab]. Gives the same logits as one
  // forward_logits_from per sequence on an empty cache.
  std::vector<float> forward_windows(std::span<const int32_t> tokens, int64_t windows,
                                     int64_t first_row);

  // Attach a profile to accumulate per-part timings into (nullptr detaches).
  void set_profile(ForwardProfile* profile) { profile_ = profile; }

  // Attach an observer of every Linear's input (an empty function detaches).
  void set_linear_input_observer(LinearInputObserver observer) {
    linear_observer_ = std::move(observer);
  }

  std::unique_ptr<KvCache> new_cache(KvFormat format = KvFormat::kF32) const {
    return make_kv_cache(format, config_);
  }

 private:
  void ensure_scratch(int64_t n);
  // first_row < 0: no logits. With cache == nullptr, tokens are `windows`
  // independent sequences (forward_windows) and first_row is per sequence.
  std::vector<float> run(std::span<const int32_t> tokens, KvCache* cache, int64_t first_row,
                         HiddenStates* hidden_states, int64_t windows = 1);

  ModelConfig config_;
  Qwen2Weights weights_;
  ForwardProfile* profile_ = nullptr;
  LinearInputObserver linear_observer_;

  // Activation buffers reused across calls, sized for the largest n seen.
  int64_t scratch_tokens_ = 0;
  std::vector<float> x_, normed_, q_, k_, v_, attention_, projected_, gate_, up_;
  std::vector<int64_t> positions_;
  kernels::RopeTable rope_;  // the angles of this call's positions
};

}  // namespace tc::model
