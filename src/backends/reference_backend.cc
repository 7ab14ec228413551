// The reference backend: the kernels' scalar twins, one thread, so that
// every operation is plainly what it means: dequantized rows dotted with x
// in double (matmul_reference), the scalar W8A8 kernel, the scalar RMSNorm,
// RoPE and SiLU·mul, the reference attention over the cache's rows. Slow; it
// is the oracle the optimized backends are checked against (the goldens pass
// through it too, see tests/CMakeLists.txt).
#include "backends/backend.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/q8_dynamic.h"

namespace tc::backends {

namespace {

kernels::AttentionShape kernel_shape(const AttentionShape& shape) {
  return {shape.heads, shape.kv_heads, shape.head_dim};
}

// W8A8 weights mean activations quantized per token: their reference is the
// scalar integer kernel. Every other format: dequantize a row, dot in double.
void reference_matmul(const WeightMatrix& w, const float* x, int64_t n, float* y) {
  if (weights::weight_format_traits(w.format).quantizes_activations) {
    return kernels::matmul_q8_dynamic_scalar(w, x, n, y);
  }
  kernels::matmul_reference(w, x, n, y);
}

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
    kernels::silu_mul_reference(gate_y, up_y, n * gate.rows);
  }

  void rms_norm(const float* x, const float* weight, int64_t n, int64_t d, double eps,
                float* out) const override {
    kernels::rms_norm_reference(x, weight, n, d, eps, out);
  }

  // Plain loops already: the kernels are their own twins.
  void add_bias(float* x, const float* bias, int64_t n, int64_t d) const override {
    kernels::add_bias(x, bias, n, d);
  }

  void add(float* x, const float* y, int64_t count) const override {
    kernels::add_inplace(x, y, count);
  }

  void rope(float* x, int64_t n, int64_t heads, int64_t head_dim, const float* cos,
            const float* sin) const override {
    kernels::rope_apply(x, n, heads, head_dim, cos, sin);
  }

  void attention(const float* q, const float* keys, const float* values, int64_t n, int64_t start,
                 const AttentionShape& shape, float* out) const override {
    kernels::attention_causal_reference(q, keys, values, n, start, kernel_shape(shape), out);
  }

  // Prefill and decode alike: the cache's keys and values copied out as
  // fp32 rows, then the reference attention.
  void attention_prefill(const float* q, int64_t n, int64_t start, const KvView& kv,
                         const AttentionShape& shape, float* out) const override {
    kernels::attention_cached_reference(q, n, start, kv, kernel_shape(shape), out);
  }

  void attention_decode(const float* q, int64_t start, const KvView& kv,
                        const AttentionShape& shape, float* out) const override {
    kernels::attention_cached_reference(q, 1, start, kv, kernel_shape(shape), out);
  }
};

}  // namespace

const Backend& reference_backend() {
  static const ReferenceBackend backend;
  return backend;
}

}  // namespace tc::backends
