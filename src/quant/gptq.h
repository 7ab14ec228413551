// GPTQ (Frantar et al., 2022) into the int4 group-128 format (kQ4G128).
//
// Each Linear is quantized column by column in input order; after column j is
// rounded, its error is spread over the not-yet-quantized columns through the
// upper Cholesky factor of H⁻¹ (H = 2XᵀX/n from calibration inputs), which
// minimizes the layer-output error ‖XWᵀ − XŴᵀ‖² instead of the weight error.
// The result uses exactly the round-to-nearest format rules of
// weights/quant_rules.h (q4_group_scale, q4_quantize_value), so every kQ4G128
// kernel runs it unchanged; only the values chosen differ.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/qwen2.h"
#include "weights/weight_matrix.h"

namespace tc::quant {

struct GptqOptions {
  // Dampening added to diag(H): percdamp * mean(diag H) (the paper's 1%).
  double percdamp = 0.01;
  // Columns per lazy update; a multiple of the group size so each group's
  // scale is chosen from weights that already carry all earlier updates.
  int64_t block_size = 128;
  // Also quantize each Linear with round-to-nearest (weights::convert_weights) and
  // record its errors beside GPTQ's.
  bool compare_rtn = true;
};

// Errors of one quantized Linear. weight_*: ‖W − Ŵ‖_F / ‖W‖_F. output_*: the
// relative squared output error on the calibration inputs,
// ‖XWᵀ − XŴᵀ‖²_F / ‖XWᵀ‖²_F = tr((W−Ŵ) H (W−Ŵ)ᵀ) / tr(W H Wᵀ) with the undamped H.
struct GptqLayerStats {
  double weight_rel_error = 0;
  double output_rel_error = 0;
  double weight_rel_error_rtn = -1;  // -1 when compare_rtn is off
  double output_rel_error_rtn = -1;
  int64_t dead_inputs = 0;  // input columns with diag(H) == 0 (their weights set to 0)
  double damp = 0;          // the value added to diag(H)
};

// Accumulates H = 2XᵀX/n over [n, cols] input batches, in double.
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t cols);
  void add(const float* x, int64_t n);
  int64_t cols() const { return cols_; }
  int64_t samples() const { return samples_; }
  // The full symmetric cols×cols matrix, row-major. Throws if nothing was added.
  std::vector<double> hessian() const;

 private:
  int64_t cols_;
  int64_t samples_ = 0;
  std::vector<double> sum_;  // XᵀX, upper triangle kept (row i, columns j >= i)
};

// GPTQ of one dense Linear ([rows, cols], any dense format) given its
// hessian (cols×cols, row-major, H = 2XᵀX/n). Returns kQ4G128. `stats` may be
// null. Throws tc::Error on a shape mismatch, a non-dense input or a hessian
// that is not positive definite after dampening.
weights::WeightMatrix gptq_quantize_linear(const weights::WeightMatrix& dense,
                                           const std::vector<double>& hessian,
                                           const GptqOptions& options, GptqLayerStats* stats);

// tr((W−Ŵ) H (W−Ŵ)ᵀ) / tr(W H Wᵀ): the relative squared output error of
// `quantized` against `dense` on the inputs H was built from.
double relative_output_error(const weights::WeightMatrix& dense,
                             const weights::WeightMatrix& quantized,
                             const std::vector<double>& hessian);

struct GptqModelResult {
  // [{layer, linear, weight_rel_error, output_rel_error_gptq,
  //   weight_rel_error_rtn, output_rel_error_rtn, dead_inputs}], in the
  // order quantized.
  nlohmann::json layers = nlohmann::json::array();
  double seconds = 0;              // total wall-clock time of gptq_quantize_model
  int64_t calibration_tokens = 0;  // tokens per forward pass over all windows
};

// Quantizes every decoder Linear of `model` (dense weights) in place with
// GPTQ, layer by layer, each Linear calibrated on the inputs produced by the
// already-quantized Linears before it (order in gptq.cc). Embeddings and
// lm_head are left as they are. `calibration_windows` are token ids, e.g.
// from eval::sample_token_windows on a train split.
GptqModelResult gptq_quantize_model(model::Qwen2Model& model,
                                    const std::vector<std::vector<int32_t>>& calibration_windows,
                                    const GptqOptions& options = {});

}  // namespace tc::quant
