// What one forward pass costs, counted from the model's shape and stored
// weights: the bytes of weights a decode step streams from memory and the
// floating-point operations of a prefill. `tinycompress bench` divides
// measured speed by these to say how close a method runs to the machine's
// bandwidth and FMA limits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/config.h"
#include "model/qwen2.h"

namespace tc::eval {

// Bytes of weights one single-token forward reads: every decoder Linear
// (q, k, v, o, gate, up, down of every layer: values and scales), the lm_head
// matrix, the norm weights and q/k/v biases, and the one embedding row looked
// up. With tied embeddings the lm_head is the embedding matrix, counted once
// (the looked-up row is then read twice, and counted twice: it is one row).
// The KV cache is not a weight and is not counted.
size_t decode_weight_bytes_per_token(const model::Qwen2Model& model);

// Multiply-add work of one forward pass, 2 flops per multiply-add. Norms,
// RoPE, softmax, SiLU and bias adds are left out (linear in the tokens and
// small beside the matmuls).
struct ForwardFlops {
  int64_t matmul = 0;     // decoder Linears and the lm_head rows computed
  int64_t attention = 0;  // QKᵀ scores and the weighted sum of values
  int64_t total() const { return matmul + attention; }
};

// FLOPs of a forward over `tokens` new tokens after `cached_tokens` already
// in the KV cache, computing logits for `logits_rows` of them (1 for the
// default LogitsFor::kLastToken). Causal attention: the token at position p
// attends to p + 1 positions, in every head of every layer.
ForwardFlops forward_flops(const model::ModelConfig& config, int64_t tokens,
                           int64_t cached_tokens = 0, int64_t logits_rows = 1);

}  // namespace tc::eval
