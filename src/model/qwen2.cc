#include "model/qwen2.h"

#include <algorithm>

#include "core/error.h"
#include "core/timer.h"

namespace tc::model {

namespace {

// Adds the time since the last lap to one field of the profile, if profiling.
class Laps {
 public:
  explicit Laps(ForwardProfile* profile) : profile_(profile) {}
  void lap(double ForwardProfile::*field) {
    if (profile_ == nullptr) return;
    profile_->*field += clock_.seconds();
    clock_.restart();
  }

 private:
  ForwardProfile* profile_;
  Stopwatch clock_;
};

}  // namespace

Qwen2Model::Qwen2Model(ModelConfig config, Qwen2Weights weights)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      backend_(&backends::backend_from_environment()) {}

size_t Qwen2Model::weight_bytes() const {
  size_t total = weights_.embed_tokens.bytes() + weights_.final_norm.size() * sizeof(float);
  if (weights_.lm_head) total += weights_.lm_head->bytes();
  for (const auto& layer : weights_.layers) {
    for (const WeightMatrix* m : {&layer.q_proj, &layer.k_proj, &layer.v_proj, &layer.o_proj,
                                  &layer.gate_proj, &layer.up_proj, &layer.down_proj}) {
      total += m->bytes();
    }
    total += (layer.input_norm.size() + layer.post_attention_norm.size() + layer.q_bias.size() +
              layer.k_bias.size() + layer.v_bias.size()) *
             sizeof(float);
  }
  return total;
}

namespace {

// Sizes a's buffers for n tokens (they only grow).
void reserve(Activations& a, const ModelConfig& config, int64_t n) {
  const auto size = [n](int64_t width) { return static_cast<size_t>(n * width); };
  if (a.x.size() >= size(config.hidden_size)) return;
  a.x.resize(size(config.hidden_size));
  a.normed.resize(size(config.hidden_size));
  a.q.resize(size(config.q_dim()));
  a.k.resize(size(config.kv_dim()));
  a.v.resize(size(config.kv_dim()));
  a.attention.resize(size(config.q_dim()));
  a.projected.resize(size(config.hidden_size));
  a.gate.resize(size(config.intermediate_size));
  a.up.resize(size(config.intermediate_size));
  a.positions.resize(static_cast<size_t>(n));
}

}  // namespace

std::vector<float> Qwen2Model::forward(std::span<const int32_t> tokens, KvCache& cache,
                                       LogitsFor which, HiddenStates* hidden_states) {
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t first_row = which == LogitsFor::kNone        ? -1
                            : which == LogitsFor::kLastToken ? n - 1
                                                             : 0;
  Activations& a = activations_;
  const auto record = [&](const std::vector<float>& state) {
    if (hidden_states)
      hidden_states->emplace_back(state.begin(), state.begin() + n * config_.hidden_size);
  };
  if (hidden_states) hidden_states->clear();
  embed(tokens, cache.length(), 1, a);
  record(a.x);
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    layer_forward(l, a, &cache);
    if (l + 1 < config_.num_layers) record(a.x);
  }
  cache.commit(n);
  std::vector<float> logits = head(a, first_row);
  record(a.normed);
  return logits;
}

std::vector<float> Qwen2Model::forward_windows(std::span<const int32_t> tokens, int64_t windows,
                                               int64_t first_row) {
  const auto n = static_cast<int64_t>(tokens.size());
  if (windows < 1 || n % windows != 0) {
    fail("forward_windows: {} tokens do not split into {} equal sequences", n, windows);
  }
  if (first_row < 0 || first_row >= n / windows) {
    fail("forward_windows: logits row {} outside sequences of {} tokens", first_row, n / windows);
  }
  Activations& a = activations_;
  embed(tokens, 0, windows, a);
  for (int64_t l = 0; l < config_.num_layers; ++l) layer_forward(l, a, nullptr);
  return head(a, first_row);
}

void Qwen2Model::embed(std::span<const int32_t> tokens, int64_t start, int64_t windows,
                       Activations& a) const {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) fail("forward: no tokens given");
  Laps laps(profile_);
  if (profile_) ++profile_->calls;
  reserve(a, config_, n);
  a.n = n;
  a.windows = windows;
  a.length = n / windows;
  a.start = start;
  const int64_t hidden = config_.hidden_size;
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = tokens[static_cast<size_t>(t)];
    if (id < 0 || id >= config_.vocab_size) {
      fail("token id {} at position {} is outside the vocabulary (size {})", id, start + t,
           config_.vocab_size);
    }
    weights_.embed_tokens.row_to_f32(id, a.x.data() + t * hidden);
    a.positions[static_cast<size_t>(t)] = start + t % a.length;
  }
  laps.lap(&ForwardProfile::embedding);
  make_rope_angles(a.positions.data(), n, config_.head_dim, config_.rope_theta, a.rope);
  laps.lap(&ForwardProfile::rope);
}

void Qwen2Model::layer_forward(int64_t l, Activations& a, KvCache* cache) {
  run_layer(l, a, cache, std::nullopt);
}

const float* Qwen2Model::layer_input_of(int64_t l, LinearKind kind, Activations& a) {
  return run_layer(l, a, nullptr, kind);
}

const float* Qwen2Model::run_layer(int64_t l, Activations& a, KvCache* cache,
                                   std::optional<LinearKind> stop) {
  const backends::Backend& be = *backend_;
  const int64_t n = a.n, start = a.start;
  const int64_t hidden = config_.hidden_size;
  const int64_t q_dim = config_.q_dim();
  const int64_t kv_dim = config_.kv_dim();
  const int64_t head_dim = config_.head_dim;
  const LayerWeights& layer = weights_.layers[static_cast<size_t>(l)];
  const backends::AttentionShape shape{config_.num_heads, config_.num_kv_heads, head_dim};
  Laps laps(profile_);

  // Self-attention block.
  be.rms_norm(a.x.data(), layer.input_norm.data(), n, hidden, config_.rms_norm_eps,
              a.normed.data());
  laps.lap(&ForwardProfile::norms);
  if (stop == LinearKind::kQkv) return a.normed.data();
  const backends::LinearOutput qkv[] = {
      {&layer.q_proj, a.q.data()}, {&layer.k_proj, a.k.data()}, {&layer.v_proj, a.v.data()}};
  be.matmul_same_input(qkv, a.normed.data(), n);
  be.add_bias(a.q.data(), layer.q_bias.data(), n, q_dim);
  be.add_bias(a.k.data(), layer.k_bias.data(), n, kv_dim);
  be.add_bias(a.v.data(), layer.v_bias.data(), n, kv_dim);
  laps.lap(&ForwardProfile::qkv_projection);
  be.rope(a.q.data(), n, config_.num_heads, head_dim, a.rope.cos.data(), a.rope.sin.data());
  be.rope(a.k.data(), n, config_.num_kv_heads, head_dim, a.rope.cos.data(), a.rope.sin.data());
  laps.lap(&ForwardProfile::rope);
  if (cache) {
    cache->write(l, start, n, a.k.data(), a.v.data());
    const KvView kv = cache->view(l);
    if (n == 1) {
      be.attention_decode(a.q.data(), start, kv, shape, a.attention.data());
    } else {
      be.attention_prefill(a.q.data(), n, start, kv, shape, a.attention.data());
    }
  } else {
    // Independent windows: each attends to its own keys only.
    for (int64_t w = 0; w < a.windows; ++w) {
      const int64_t row = w * a.length;
      be.attention(a.q.data() + row * q_dim, a.k.data() + row * kv_dim, a.v.data() + row * kv_dim,
                   a.length, 0, shape, a.attention.data() + row * q_dim);
    }
  }
  laps.lap(&ForwardProfile::attention);
  if (stop == LinearKind::kO) return a.attention.data();
  be.matmul(layer.o_proj, a.attention.data(), n, a.projected.data());
  laps.lap(&ForwardProfile::output_projection);
  be.add(a.x.data(), a.projected.data(), n * hidden);
  laps.lap(&ForwardProfile::elementwise);

  // SiLU-gated MLP block.
  be.rms_norm(a.x.data(), layer.post_attention_norm.data(), n, hidden, config_.rms_norm_eps,
              a.normed.data());
  laps.lap(&ForwardProfile::norms);
  if (stop == LinearKind::kGateUp) return a.normed.data();
  be.matmul_silu_gate(layer.gate_proj, layer.up_proj, a.normed.data(), n, a.gate.data(),
                      a.up.data());
  if (stop == LinearKind::kDown) return a.gate.data();
  be.matmul(layer.down_proj, a.gate.data(), n, a.projected.data());
  laps.lap(&ForwardProfile::mlp);
  be.add(a.x.data(), a.projected.data(), n * hidden);
  laps.lap(&ForwardProfile::elementwise);
  return a.x.data();
}

std::vector<float> Qwen2Model::head(Activations& a, int64_t first_row) {
  const int64_t hidden = config_.hidden_size;
  Laps laps(profile_);
  backend_->rms_norm(a.x.data(), weights_.final_norm.data(), a.n, hidden, config_.rms_norm_eps,
                     a.normed.data());
  laps.lap(&ForwardProfile::norms);

  std::vector<float> logits;
  if (first_row < 0) return logits;
  const int64_t rows_per_window = a.length - first_row;
  const int64_t rows = rows_per_window * a.windows;
  const float* head_input = a.normed.data() + first_row * hidden;
  if (a.windows > 1) {
    // Gather the asked-for rows of every window (x is free by now).
    for (int64_t w = 0; w < a.windows; ++w) {
      std::copy_n(a.normed.data() + (w * a.length + first_row) * hidden, rows_per_window * hidden,
                  a.x.data() + w * rows_per_window * hidden);
    }
    head_input = a.x.data();
  }
  logits.resize(static_cast<size_t>(rows * config_.vocab_size));
  backend_->matmul(lm_head(), head_input, rows, logits.data());
  laps.lap(&ForwardProfile::lm_head);
  return logits;
}

}  // namespace tc::model
