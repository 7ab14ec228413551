#include "harness/methods.h"

#include "core/error.h"
#include "model/loader.h"

namespace tc::harness {

namespace {

// Baselines: the checkpoint's weights held in one dense format, converted
// once at load; every kernel computes and accumulates in fp32.
Method dense_baseline(const std::string& name, model::WeightFormat format,
                      const std::string& description) {
  Method method;
  method.name = name;
  method.description = description;
  method.weight_format = std::string(kernels::weight_format_name(format));
  method.prepare = [format](const MethodContext& context) {
    PreparedModel prepared;
    prepared.model = std::make_unique<model::Qwen2Model>(model::load_qwen2(context.model_dir, format));
    prepared.details = {{"weights", "dense " + std::string(kernels::weight_format_name(format)) +
                                        ", converted once at load (round to nearest even)"},
                        {"compute", "fp32 accumulation"}};
    return prepared;
  };
  return method;
}

std::vector<Method> build_registry() {
  std::vector<Method> methods;
  methods.push_back(dense_baseline(
      "fp32_cpu", model::WeightFormat::kF32,
      "Baseline: every weight widened to fp32 at load, fp32 kernels on the CPU."));
  methods.push_back(dense_baseline(
      "bf16_cpu", model::WeightFormat::kBF16,
      "Weights held as bf16 (half the bytes), widened to fp32 inside the kernels."));
  methods.push_back(dense_baseline(
      "fp16_cpu", model::WeightFormat::kF16,
      "Weights held as IEEE fp16 (half the bytes), widened to fp32 inside the kernels."));
  return methods;
}

}  // namespace

const std::vector<Method>& method_registry() {
  static const std::vector<Method> registry = build_registry();
  return registry;
}

const Method& find_method(const std::string& name) {
  for (const auto& method : method_registry()) {
    if (method.name == name) return method;
  }
  std::string known;
  for (const auto& method : method_registry()) known += (known.empty() ? "" : ", ") + method.name;
  fail("unknown method '{}' (known: {})", name, known);
}

}  // namespace tc::harness
