#include "model/qwen2.h"

#include <algorithm>

#include "core/error.h"
#include "core/timer.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"

namespace tc::model {

using kernels::matmul;

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
    : config_(std::move(config)), weights_(std::move(weights)) {}

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

void Qwen2Model::ensure_scratch(int64_t n) {
  if (n <= scratch_tokens_) return;
  const auto size = [n](int64_t width) { return static_cast<size_t>(n * width); };
  x_.resize(size(config_.hidden_size));
  normed_.resize(size(config_.hidden_size));
  q_.resize(size(config_.q_dim()));
  k_.resize(size(config_.kv_dim()));
  v_.resize(size(config_.kv_dim()));
  attention_.resize(size(config_.q_dim()));
  projected_.resize(size(config_.hidden_size));
  gate_.resize(size(config_.intermediate_size));
  up_.resize(size(config_.intermediate_size));
  positions_.resize(static_cast<size_t>(n));
  scratch_tokens_ = n;
}

std::vector<float> Qwen2Model::forward(std::span<const int32_t> tokens, KvCache& cache,
                                       LogitsFor which, HiddenStates* hidden_states) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t first_row = which == LogitsFor::kNone        ? -1
                            : which == LogitsFor::kLastToken ? n - 1
                                                             : 0;
  return run(tokens, &cache, first_row, hidden_states);
}

std::vector<float> Qwen2Model::forward_logits_from(std::span<const int32_t> tokens, KvCache& cache,
                                                   int64_t first_row) {
  if (first_row < 0 || first_row >= static_cast<int64_t>(tokens.size())) {
    fail("forward: logits row {} outside the {} tokens given", first_row, tokens.size());
  }
  return run(tokens, &cache, first_row, nullptr);
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
  return run(tokens, nullptr, first_row, nullptr, windows);
}

std::vector<float> Qwen2Model::run(std::span<const int32_t> tokens, KvCache* cache,
                                   int64_t first_row, HiddenStates* hidden_states,
                                   int64_t windows) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) fail("forward: no tokens given");
  // Sequence length: all tokens, or one of the independent windows.
  const int64_t length = cache ? n : n / windows;
  const int64_t start = cache ? cache->length() : 0;
  const int64_t hidden = config_.hidden_size;
  const int64_t q_dim = config_.q_dim();
  const int64_t kv_dim = config_.kv_dim();
  const int64_t inter = config_.intermediate_size;
  ensure_scratch(n);
  Laps laps(profile_);
  if (profile_) ++profile_->calls;

  // Embedding lookup.
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = tokens[static_cast<size_t>(t)];
    if (id < 0 || id >= config_.vocab_size) {
      fail("token id {} at position {} is outside the vocabulary (size {})", id, start + t,
           config_.vocab_size);
    }
    weights_.embed_tokens.row_to_f32(id, x_.data() + t * hidden);
    positions_[static_cast<size_t>(t)] = start + t % length;
  }
  const auto record = [&](const std::vector<float>& state) {
    if (hidden_states) hidden_states->emplace_back(state.begin(), state.begin() + n * hidden);
  };
  if (hidden_states) hidden_states->clear();
  record(x_);
  laps.lap(&ForwardProfile::embedding);

  kernels::make_rope_table(positions_.data(), n, config_.head_dim, config_.rope_theta, rope_);
  laps.lap(&ForwardProfile::rope);

  const kernels::AttentionShape shape{config_.num_heads, config_.num_kv_heads, config_.head_dim};
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    const LayerWeights& layer = weights_.layers[static_cast<size_t>(l)];
    const auto observe = [&](LinearKind kind, const std::vector<float>& input, int64_t cols) {
      if (linear_observer_) linear_observer_(l, kind, input.data(), n, cols);
    };

    // Self-attention block.
    kernels::rms_norm(x_.data(), layer.input_norm.data(), n, hidden, config_.rms_norm_eps,
                      normed_.data());
    laps.lap(&ForwardProfile::norms);
    observe(LinearKind::kQkv, normed_, hidden);
    const kernels::MatmulTarget qkv[] = {
        {&layer.q_proj, q_.data()}, {&layer.k_proj, k_.data()}, {&layer.v_proj, v_.data()}};
    kernels::matmul_same_input(qkv, normed_.data(), n);
    kernels::add_bias(q_.data(), layer.q_bias.data(), n, q_dim);
    kernels::add_bias(k_.data(), layer.k_bias.data(), n, kv_dim);
    kernels::add_bias(v_.data(), layer.v_bias.data(), n, kv_dim);
    laps.lap(&ForwardProfile::qkv_projection);
    kernels::rope_apply(q_.data(), n, config_.num_heads, config_.head_dim, rope_);
    kernels::rope_apply(k_.data(), n, config_.num_kv_heads, config_.head_dim, rope_);
    laps.lap(&ForwardProfile::rope);
    if (cache) {
      cache->write(l, start, n, k_.data(), v_.data());
      if (n == 1) {  // decode: the cache's own layout, read in place
        const KvCache::DecodeView kv = cache->read_decode(l);
        if (kv.tiles16 != nullptr) {
          kernels::attention_decode_f16(q_.data(), kv.tiles16, start, shape, attention_.data());
        } else {
          kernels::attention_decode_f32(q_.data(), kv.tiles, start, shape, attention_.data());
        }
      } else {
        const KvCache::View kv = cache->read(l, start + n);
        kernels::attention_causal(q_.data(), kv.keys, kv.values, n, start, shape,
                                  attention_.data());
      }
    } else {
      // Independent windows: each attends to its own keys only.
      for (int64_t w = 0; w < windows; ++w) {
        const int64_t row = w * length;
        kernels::attention_causal(q_.data() + row * q_dim, k_.data() + row * kv_dim,
                                  v_.data() + row * kv_dim, length, 0, shape,
                                  attention_.data() + row * q_dim);
      }
    }
    laps.lap(&ForwardProfile::attention);
    observe(LinearKind::kO, attention_, q_dim);
    matmul(layer.o_proj, attention_.data(), n, projected_.data());
    laps.lap(&ForwardProfile::output_projection);
    kernels::add_inplace(x_.data(), projected_.data(), n * hidden);
    laps.lap(&ForwardProfile::elementwise);

    // SiLU-gated MLP block.
    kernels::rms_norm(x_.data(), layer.post_attention_norm.data(), n, hidden, config_.rms_norm_eps,
                      normed_.data());
    laps.lap(&ForwardProfile::norms);
    observe(LinearKind::kGateUp, normed_, hidden);
    kernels::matmul_silu_gate(layer.gate_proj, layer.up_proj, normed_.data(), n, gate_.data(),
                              up_.data());
    observe(LinearKind::kDown, gate_, inter);
    matmul(layer.down_proj, gate_.data(), n, projected_.data());
    laps.lap(&ForwardProfile::mlp);
    kernels::add_inplace(x_.data(), projected_.data(), n * hidden);
    laps.lap(&ForwardProfile::elementwise);

    if (l + 1 < config_.num_layers) record(x_);
  }
  if (cache) cache->commit(n);

  kernels::rms_norm(x_.data(), weights_.final_norm.data(), n, hidden, config_.rms_norm_eps,
                    normed_.data());
  record(normed_);
  laps.lap(&ForwardProfile::norms);

  std::vector<float> logits;
  if (first_row < 0) return logits;
  const int64_t rows_per_window = length - first_row;
  const int64_t rows = rows_per_window * windows;
  const float* head_input = normed_.data() + first_row * hidden;
  if (windows > 1) {
    // Gather the asked-for rows of every window (x_ is free by now).
    for (int64_t w = 0; w < windows; ++w) {
      std::copy_n(normed_.data() + (w * length + first_row) * hidden, rows_per_window * hidden,
                  x_.data() + w * rows_per_window * hidden);
    }
    head_input = x_.data();
  }
  logits.resize(static_cast<size_t>(rows * config_.vocab_size));
  matmul(lm_head(), head_input, rows, logits.data());
  laps.lap(&ForwardProfile::lm_head);
  return logits;
}

}  // namespace tc::model
