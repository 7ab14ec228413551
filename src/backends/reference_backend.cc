// The reference backend: every operation written the plain way, one thread,
// sums in double where the kernels reduce in fp32, so that it is obviously
// what the operation means. Slow; it is the oracle the optimized backends are
// checked against (the goldens pass through it too, see tests/CMakeLists.txt).
#include <cmath>
#include <vector>

#include "backends/backend.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/q8_dynamic.h"
#include "model/kv_cache.h"

namespace tc::backends {

namespace {

// W8A8 weights mean activations quantized per token: their reference is the
// scalar integer kernel. Every other format: dequantize a row, dot in double.
void reference_matmul(const WeightMatrix& w, const float* x, int64_t n, float* y) {
  if (w.format == kernels::WeightFormat::kQ8RowDynamic) {
    return kernels::matmul_q8_dynamic_scalar(w, x, n, y);
  }
  kernels::matmul_reference(w, x, n, y);
}

float silu(float g) { return g / (1.0f + std::exp(-g)); }

class ReferenceBackend final : public Backend {
 public:
  std::string_view name() const override { return "reference"; }

  void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y) const override {
    reference_matmul(w, x, n, y);
  }

  void matmul_same_input(std::span<const LinearOutput> outputs, const float* x,
                         int64_t n) const override {
    for (const LinearOutput& output : outputs) reference_matmul(*output.weight, x, n, output.y);
  }

  void matmul_silu_gate(const WeightMatrix& gate, const WeightMatrix& up, const float* x, int64_t n,
                        float* gate_y, float* up_y) const override {
    reference_matmul(gate, x, n, gate_y);
    reference_matmul(up, x, n, up_y);
    for (int64_t i = 0; i < n * gate.rows; ++i) gate_y[i] = silu(gate_y[i]) * up_y[i];
  }

  void rms_norm(const float* x, const float* weight, int64_t n, int64_t d, double eps,
                float* out) const override {
    for (int64_t t = 0; t < n; ++t) {
      const float* row = x + t * d;
      double sum_squares = 0.0;
      for (int64_t i = 0; i < d; ++i) sum_squares += double(row[i]) * double(row[i]);
      const double inv_rms = 1.0 / std::sqrt(sum_squares / double(d) + eps);
      for (int64_t i = 0; i < d; ++i) {
        out[t * d + i] = static_cast<float>(double(weight[i]) * (double(row[i]) * inv_rms));
      }
    }
  }

  void add_bias(float* x, const float* bias, int64_t n, int64_t d) const override {
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < d; ++i) x[t * d + i] += bias[i];
    }
  }

  void add(float* x, const float* y, int64_t count) const override {
    for (int64_t i = 0; i < count; ++i) x[i] += y[i];
  }

  void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const float* cos,
            const float* sin) const override {
    const int64_t half = head_dim / 2;
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        float* v = x + (t * heads + h) * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const double c = cos[t * half + i], s = sin[t * half + i];
          const double a = v[i], b = v[i + half];
          v[i] = static_cast<float>(a * c - b * s);
          v[i + half] = static_cast<float>(b * c + a * s);
        }
      }
    }
  }

  void attention(const float* q, const float* keys, const float* values, int64_t n, int64_t start,
                 const AttentionShape& shape, float* out) const override {
    kernels::attention_causal_reference(q, keys, values, n, start,
                                        {shape.heads, shape.kv_heads, shape.head_dim}, out);
  }

  // The cache's keys and values copied out as fp32 rows, then the same
  // attention as prefill.
  void attention_decode(const float* q, model::KvCache& cache, int64_t layer, int64_t start,
                        const AttentionShape& shape, float* out) const override {
    const model::KvCache::View kv = cache.read(layer, start + 1);
    attention(q, kv.keys, kv.values, 1, start, shape, out);
  }
};

}  // namespace

const Backend& reference_backend() {
  static const ReferenceBackend backend;
  return backend;
}

}  // namespace tc::backends
