// The Qwen2 decoder: weights and the forward pass (prefill of many tokens
// or one-token decode, both through the KV cache), layer by layer over a
// backend (backends/backend.h) that does the arithmetic.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "weights/weight_matrix.h"

namespace tc::model {

using weights::WeightFormat;
using weights::WeightMatrix;

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

// The groups of Linears in a layer that share one input: q/k/v (the
// attention input norm), o (the attention output), gate/up (the MLP input
// norm) and down (silu(gate)·up).
enum class LinearKind { kQkv, kO, kGateUp, kDown };

// The buffers of one pass over n tokens, reused across calls (sized for the
// largest n seen): the residual stream x and every intermediate of a layer.
// A pass is embed(), then layer_forward() for each layer, then head(); the
// caller may keep or replace x between layers (calibration runs one layer
// at a time over saved inputs).
struct Activations {
  int64_t n = 0;                 // tokens of this pass
  int64_t length = 0;            // tokens per sequence (n, or n / windows)
  int64_t windows = 1;           // independent sequences back to back (no cache)
  int64_t start = 0;             // position of the first token (the cache's length)
  std::vector<float> x;          // [n, hidden] residual stream
  std::vector<float> normed;     // [n, hidden] the current norm's output
  std::vector<float> q, k, v;    // [n, q_dim | kv_dim]
  std::vector<float> attention;  // [n, q_dim] attention output (o's input)
  std::vector<float> projected;  // [n, hidden] o or down output
  std::vector<float> gate, up;   // [n, intermediate]; gate ends as silu(gate)·up (down's input)
  std::vector<int64_t> positions;
  RopeAngles rope;  // the angles of this pass's positions
};

class Qwen2Model {
 public:
  // Runs on the backend TC_BACKEND names (backends::backend_from_environment).
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

  // Perplexity's batched path: `tokens` holds `windows` independent sequences
  // of equal length, back to back, each run from position 0 with no cache
  // (attention stays inside each sequence), so every matmul sees all of them
  // at once. Returns logits for rows first_row .. length-1 of every sequence,
  // [windows · (length - first_row), vocab]: the same logits as a forward of
  // each sequence on an empty cache.
  std::vector<float> forward_windows(std::span<const int32_t> tokens, int64_t windows,
                                     int64_t first_row);

  // ---- One pass, layer by layer (what forward and forward_windows do) ----
  // Looks up the tokens' embeddings into a.x, for positions start onwards
  // (start = the cache's length; 0 for independent windows). Throws
  // tc::Error for an id outside the vocabulary.
  void embed(std::span<const int32_t> tokens, int64_t start, int64_t windows, Activations& a) const;
  // Runs layer l over a.x in place. With a cache, stores the layer's keys
  // and values in it (the caller commits the tokens after the last layer);
  // without, each of a.windows sequences attends to itself only.
  void layer_forward(int64_t l, Activations& a, KvCache* cache);
  // Runs layer l over a.x only until the input of `kind` is computed and
  // returns it ([a.n, cols]; a.x is then partly updated). For calibration.
  const float* layer_input_of(int64_t l, LinearKind kind, Activations& a);
  // The final norm of a.x (into a.normed) and, with first_row >= 0, the
  // logits of rows first_row .. length-1 of every sequence.
  std::vector<float> head(Activations& a, int64_t first_row);

  const backends::Backend& backend() const { return *backend_; }
  void set_backend(const backends::Backend& backend) { backend_ = &backend; }

  // Attach a profile to accumulate per-part timings into (nullptr detaches).
  void set_profile(ForwardProfile* profile) { profile_ = profile; }

  std::unique_ptr<KvCache> new_cache(KvFormat format = KvFormat::kF32) const {
    return make_kv_cache(format, config_);
  }

 private:
  // layer_forward, stopping before the Linears of `stop` when one is given.
  const float* run_layer(int64_t l, Activations& a, KvCache* cache, std::optional<LinearKind> stop);

  ModelConfig config_;
  Qwen2Weights weights_;
  const backends::Backend* backend_;
  ForwardProfile* profile_ = nullptr;
  Activations activations_;  // forward's and forward_windows' buffers
};

}  // namespace tc::model
