// The cpu backend: the optimized kernels of src/kernels/cpu, each choosing
// its instruction-set level at run time (core/cpu_features.h).
#include <array>

#include "backends/backend.h"
#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"

namespace tc::backends {

namespace {

kernels::AttentionShape kernel_shape(const AttentionShape& shape) {
  return {shape.heads, shape.kv_heads, shape.head_dim};
}

class CpuBackend final : public Backend {
 public:
  std::string_view name() const override { return "cpu"; }

  void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y) const override {
    kernels::matmul(w, x, n, y);
  }

  void matmul_same_input(std::span<const LinearOutput> outputs, const float* x,
                         int64_t n) const override {
    std::array<kernels::MatmulTarget, 8> targets;
    if (outputs.size() > targets.size()) {
      fail("matmul_same_input: {} outputs, at most {}", outputs.size(), targets.size());
    }
    for (size_t i = 0; i < outputs.size(); ++i) targets[i] = {outputs[i].weight, outputs[i].y};
    kernels::matmul_same_input(std::span(targets.data(), outputs.size()), x, n);
  }

  void matmul_silu_gate(const WeightMatrix& gate, const WeightMatrix& up, const float* x, int64_t n,
                        float* gate_y, float* up_y) const override {
    kernels::matmul_silu_gate(gate, up, x, n, gate_y, up_y);
  }

  void rms_norm(const float* x, const float* weight, int64_t n, int64_t d, double eps,
                float* out) const override {
    kernels::rms_norm(x, weight, n, d, eps, out);
  }

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
    kernels::attention_causal(q, keys, values, n, start, kernel_shape(shape), out);
  }

  void attention_prefill(const float* q, int64_t n, int64_t start, const KvView& kv,
                         const AttentionShape& shape, float* out) const override {
    kernels::attention_prefill(q, n, start, kv, kernel_shape(shape), out);
  }

  // The cache's KV tiles read in place (no copy).
  void attention_decode(const float* q, int64_t start, const KvView& kv,
                        const AttentionShape& shape, float* out) const override {
    kernels::attention_decode(q, start, kv, kernel_shape(shape), out);
  }
};

}  // namespace

const Backend& cpu_backend() {
  static const CpuBackend backend;
  return backend;
}

}  // namespace tc::backends
