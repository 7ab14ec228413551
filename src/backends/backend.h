// The operations a Qwen2 block is made of, as an interface: the forward pass
// (model/qwen2.cc) calls only these, so the same model code runs on any
// backend that implements them.
//  - cpu: the optimized kernels of src/kernels/cpu (the default);
//  - reference: their scalar twins, slow and obviously correct (one
//    thread): the oracle later backends are checked against, and a second
//    path to the goldens.
// TC_BACKEND=cpu|reference chooses one for the whole process.
//
// Activations are fp32, [tokens, width] row-major. Weights are the model's
// WeightMatrix in whatever format a method left them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kv/kv_layout.h"
#include "weights/weight_matrix.h"

namespace tc::backends {

using kv::KvView;
using weights::WeightMatrix;

// One Linear of a group sharing an input: its weight and where its output goes.
struct LinearOutput {
  const WeightMatrix* weight;
  float* y;  // [n, weight->rows]
};

struct AttentionShape {
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // y[n, w.rows] = x[n, w.cols] · wᵀ.
  virtual void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y) const = 0;
  // Every output of a group over one x (a layer's q, k and v).
  virtual void matmul_same_input(std::span<const LinearOutput> outputs, const float* x,
                                 int64_t n) const = 0;
  // gate_y = silu(x · gateᵀ) · (x · upᵀ), elementwise; up_y is scratch of the
  // same size.
  virtual void matmul_silu_gate(const WeightMatrix& gate, const WeightMatrix& up, const float* x,
                                int64_t n, float* gate_y, float* up_y) const = 0;
  // out = x / sqrt(mean(x²) + eps) · weight, per row of width d.
  virtual void rms_norm(const float* x, const float* weight, int64_t n, int64_t d, double eps,
                        float* out) const = 0;
  // x[t][i] += bias[i].
  virtual void add_bias(float* x, const float* bias, int64_t n, int64_t d) const = 0;
  // x[i] += y[i].
  virtual void add(float* x, const float* y, int64_t count) const = 0;
  // Rotary embedding, rotate-half convention, of x [n, heads, head_dim] by
  // the angles of each row's position: cos and sin [n, head_dim / 2].
  virtual void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const float* cos,
                    const float* sin) const = 0;
  // Causal attention of n queries at positions start .. start+n-1 over keys
  // and values [start + n, kv_heads · head_dim] as rows (grouped-query: query
  // head h reads kv head h / (heads / kv_heads)); out [n, heads · head_dim].
  // For sequences run without a cache (independent windows, calibration).
  virtual void attention(const float* q, const float* keys, const float* values, int64_t n,
                         int64_t start, const AttentionShape& shape, float* out) const = 0;
  // The same over one layer of a KV cache holding start + n positions, read
  // in the cache's own format (kv.format): a prefill of n tokens, or one
  // decode query (n = 1, at position `start`). A format the backend has no
  // kernel for throws tc::Error.
  virtual void attention_prefill(const float* q, int64_t n, int64_t start, const KvView& kv,
                                 const AttentionShape& shape, float* out) const = 0;
  virtual void attention_decode(const float* q, int64_t start, const KvView& kv,
                                const AttentionShape& shape, float* out) const = 0;
};

const Backend& cpu_backend();
const Backend& reference_backend();
// The backend TC_BACKEND names (cpu when unset); throws tc::Error naming a
// value that is neither.
const Backend& backend_from_environment();

}  // namespace tc::backends
