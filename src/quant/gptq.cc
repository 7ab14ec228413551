#include "quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "model/block_tensors.h"
#include "quant/linear_walk.h"
#include "weights/quant_rules.h"

namespace tc::quant {

using weights::kScaleGroup;
using weights::q4_group_scale;
using weights::q4_quantize_value;
using weights::WeightFormat;
using weights::WeightMatrix;

namespace {

bool is_dense(WeightFormat format) { return !weights::weight_format_traits(format).quantized; }

// Row r of any format, widened to double.
void row_to_f64(const WeightMatrix& m, int64_t r, std::vector<float>& scratch, double* out) {
  scratch.resize(static_cast<size_t>(m.cols));
  m.row_to_f32(r, scratch.data());
  for (int64_t c = 0; c < m.cols; ++c) out[c] = scratch[static_cast<size_t>(c)];
}

// In-place lower Cholesky factor of the n×n row-major `a` (upper triangle
// left as garbage-free zeros). Returns false if `a` is not positive definite.
bool cholesky_lower(std::vector<double>& a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    double* row_i = a.data() + i * n;
    for (int64_t j = 0; j <= i; ++j) {
      const double* row_j = a.data() + j * n;
      double sum = row_i[j];
      for (int64_t k = 0; k < j; ++k) sum -= row_i[k] * row_j[k];
      if (i == j) {
        if (!(sum > 0.0) || !std::isfinite(sum)) return false;
        row_i[i] = std::sqrt(sum);
      } else {
        row_i[j] = sum / row_j[j];
      }
    }
    std::fill(row_i + i + 1, row_i + n, 0.0);
  }
  return true;
}

// The upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU), row-major, from the lower
// factor L of H: H⁻¹ = L⁻ᵀL⁻¹, then factor it again. Row j of U holds the
// weights with which column j's rounding error is spread over columns > j.
std::vector<double> upper_cholesky_of_inverse(const std::vector<double>& lower, int64_t n) {
  // L⁻¹ row by row: row i of L·X = e_i, using the rows of X already known.
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double* row_i = inv.data() + i * n;
    const double* l_i = lower.data() + i * n;
    row_i[i] = 1.0;
    for (int64_t k = 0; k < i; ++k) {
      const double a = l_i[k];
      const double* row_k = inv.data() + k * n;
      for (int64_t j = 0; j <= k; ++j) row_i[j] -= a * row_k[j];
    }
    for (int64_t j = 0; j <= i; ++j) row_i[j] /= l_i[i];
  }
  // H⁻¹ = Σ_k (row k of L⁻¹)ᵀ(row k of L⁻¹), upper triangle, then mirrored.
  std::vector<double> hinv(static_cast<size_t>(n * n), 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const double* row_k = inv.data() + k * n;
    for (int64_t a = 0; a <= k; ++a) {
      const double v = row_k[a];
      double* out = hinv.data() + a * n;
      for (int64_t b = a; b <= k; ++b) out[b] += v * row_k[b];
    }
  }
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t b = a + 1; b < n; ++b) hinv[b * n + a] = hinv[a * n + b];
  }
  if (!cholesky_lower(hinv, n)) fail("gptq: the inverse hessian is not positive definite");
  // U = Lᵀ of H⁻¹'s factor.
  std::vector<double> upper(static_cast<size_t>(n * n), 0.0);
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t b = a; b < n; ++b) upper[a * n + b] = hinv[b * n + a];
  }
  return upper;
}

// Σ over rows of dᵀ H d (d = row of `a` minus row of `b`; b may be null) —
// tr(D H Dᵀ). Rows split over the global pool.
double trace_quadratic(const WeightMatrix& a, const WeightMatrix* b,
                       const std::vector<double>& hessian) {
  const int64_t cols = a.cols;
  std::mutex mutex;
  double total = 0.0;
  ThreadPool::global().parallel_for(static_cast<size_t>(a.rows), 1, [&](size_t begin, size_t end) {
    std::vector<float> scratch;
    std::vector<double> d(static_cast<size_t>(cols)), other(static_cast<size_t>(cols)),
        hd(static_cast<size_t>(cols));
    double partial = 0.0;
    for (size_t r = begin; r < end; ++r) {
      row_to_f64(a, static_cast<int64_t>(r), scratch, d.data());
      if (b != nullptr) {
        row_to_f64(*b, static_cast<int64_t>(r), scratch, other.data());
        for (int64_t c = 0; c < cols; ++c) d[c] -= other[c];
      }
      // H d as a sum of scaled rows (contiguous, vectorizable).
      std::fill(hd.begin(), hd.end(), 0.0);
      for (int64_t i = 0; i < cols; ++i) {
        const double di = d[i];
        if (di == 0.0) continue;
        const double* h = hessian.data() + i * cols;
        for (int64_t j = 0; j < cols; ++j) hd[j] += di * h[j];
      }
      for (int64_t c = 0; c < cols; ++c) partial += d[c] * hd[c];
    }
    const std::lock_guard lock(mutex);
    total += partial;
  });
  return total;
}

double relative_weight_error(const WeightMatrix& dense, const WeightMatrix& quantized) {
  std::vector<float> w(static_cast<size_t>(dense.cols)), q(static_cast<size_t>(dense.cols));
  double num = 0.0, den = 0.0;
  for (int64_t r = 0; r < dense.rows; ++r) {
    dense.row_to_f32(r, w.data());
    quantized.row_to_f32(r, q.data());
    for (size_t c = 0; c < w.size(); ++c) {
      const double d = static_cast<double>(w[c]) - q[c];
      num += d * d;
      den += static_cast<double>(w[c]) * w[c];
    }
  }
  return den > 0.0 ? std::sqrt(num / den) : 0.0;
}

}  // namespace

HessianAccumulator::HessianAccumulator(int64_t cols)
    : cols_(cols), sum_(static_cast<size_t>(cols * cols), 0.0) {
  if (cols <= 0) fail("gptq: hessian of {} columns", cols);
}

void HessianAccumulator::add(const float* x, int64_t n) {
  // Tokens in chunks small enough to stay in cache while every row of the sum
  // is updated; rows handled in pairs (i, cols-1-i) so the triangle's work
  // splits evenly over threads.
  constexpr int64_t kChunk = 64;
  const int64_t cols = cols_;
  for (int64_t t0 = 0; t0 < n; t0 += kChunk) {
    const int64_t t1 = std::min(n, t0 + kChunk);
    const auto update_row = [&](int64_t i) {
      double* out = sum_.data() + i * cols;
      for (int64_t t = t0; t < t1; ++t) {
        const float* xt = x + t * cols;
        const double a = xt[i];
        if (a == 0.0) continue;
        for (int64_t j = i; j < cols; ++j) out[j] += a * static_cast<double>(xt[j]);
      }
    };
    ThreadPool::global().parallel_for(static_cast<size_t>((cols + 1) / 2), 1,
                                      [&](size_t begin, size_t end) {
                                        for (size_t p = begin; p < end; ++p) {
                                          const int64_t i = static_cast<int64_t>(p);
                                          update_row(i);
                                          if (cols - 1 - i != i) update_row(cols - 1 - i);
                                        }
                                      });
  }
  samples_ += n;
}

std::vector<double> HessianAccumulator::hessian() const {
  if (samples_ == 0) fail("gptq: no calibration inputs were seen");
  std::vector<double> h(sum_.size());
  const double factor = 2.0 / static_cast<double>(samples_);
  for (int64_t i = 0; i < cols_; ++i) {
    for (int64_t j = i; j < cols_; ++j) {
      const double v = sum_[static_cast<size_t>(i * cols_ + j)] * factor;
      h[static_cast<size_t>(i * cols_ + j)] = v;
      h[static_cast<size_t>(j * cols_ + i)] = v;
    }
  }
  return h;
}

double relative_output_error(const WeightMatrix& dense, const WeightMatrix& quantized,
                             const std::vector<double>& hessian) {
  if (dense.rows != quantized.rows || dense.cols != quantized.cols ||
      hessian.size() != static_cast<size_t>(dense.cols * dense.cols)) {
    fail("gptq: output error of mismatched shapes ([{}, {}] vs [{}, {}], hessian of {})",
         dense.rows, dense.cols, quantized.rows, quantized.cols, hessian.size());
  }
  const double den = trace_quadratic(dense, nullptr, hessian);
  const double num = trace_quadratic(dense, &quantized, hessian);
  return den > 0.0 ? num / den : 0.0;
}

WeightMatrix gptq_quantize_linear(const WeightMatrix& dense, const std::vector<double>& hessian,
                                  const GptqOptions& options, GptqLayerStats* stats) {
  const int64_t rows = dense.rows;
  const int64_t cols = dense.cols;
  if (!is_dense(dense.format)) {
    fail("gptq: needs a dense weight matrix, got {}", weights::weight_format_name(dense.format));
  }
  if (rows <= 0 || cols <= 0) fail("gptq: empty weight matrix [{}, {}]", rows, cols);
  if (hessian.size() != static_cast<size_t>(cols * cols)) {
    fail("gptq: hessian has {} entries, expected {}x{} for a [{}, {}] weight", hessian.size(), cols,
         cols, rows, cols);
  }
  if (options.block_size <= 0 || options.block_size % kScaleGroup != 0) {
    fail("gptq: block_size {} is not a positive multiple of the group size {}", options.block_size,
         kScaleGroup);
  }
  if (!(options.percdamp >= 0.0)) fail("gptq: percdamp {} is negative", options.percdamp);

  // Dead inputs (never active in calibration) carry no information: make
  // their diagonal 1 so H stays invertible, and their weights 0 (as the
  // reference does) — X never multiplies them, so any value is exact there.
  std::vector<double> h = hessian;
  std::vector<bool> dead(static_cast<size_t>(cols), false);
  int64_t dead_count = 0;
  double diag_sum = 0.0;
  for (int64_t i = 0; i < cols; ++i) {
    double& d = h[static_cast<size_t>(i * cols + i)];
    if (d == 0.0) {
      d = 1.0;
      dead[static_cast<size_t>(i)] = true;
      ++dead_count;
    }
    diag_sum += d;
  }
  const double damp = options.percdamp * diag_sum / static_cast<double>(cols);
  for (int64_t i = 0; i < cols; ++i) h[static_cast<size_t>(i * cols + i)] += damp;
  if (!cholesky_lower(h, cols)) {
    fail("gptq: hessian [{}x{}] is not positive definite after dampening {} (percdamp {})", cols,
         cols, damp, options.percdamp);
  }
  const std::vector<double> u = upper_cholesky_of_inverse(h, cols);

  WeightMatrix out = weights::make_weight_matrix(WeightFormat::kQ4G128, rows, cols);
  uint16_t* scales = reinterpret_cast<uint16_t*>(out.scales.data());
  const int64_t block = options.block_size;

  // Each row's scales depend only on that row's values, so rows are
  // independent: a row is carried through all columns at once (the same
  // arithmetic as the column-wise reference, cache-friendly and parallel).
  ThreadPool::global().parallel_for(static_cast<size_t>(rows), 1, [&](size_t begin, size_t end) {
    std::vector<float> scratch;
    std::vector<double> w(static_cast<size_t>(cols));
    std::vector<double> err(static_cast<size_t>(block));
    std::vector<float> group(static_cast<size_t>(kScaleGroup));
    for (size_t rr = begin; rr < end; ++rr) {
      const int64_t r = static_cast<int64_t>(rr);
      row_to_f64(dense, r, scratch, w.data());
      for (int64_t c = 0; c < cols; ++c) {
        if (dead[static_cast<size_t>(c)]) w[c] = 0.0;
      }
      uint8_t* packed = out.storage.data() + r * out.row_bytes();
      uint16_t* row_scales = scales + r * out.scales_per_row();
      float scale = 0.0f;
      for (int64_t b0 = 0; b0 < cols; b0 += block) {
        const int64_t b1 = std::min(cols, b0 + block);
        for (int64_t j = b0; j < b1; ++j) {
          if (j % kScaleGroup == 0) {
            // The group is entered: its weights already carry every
            // update from earlier columns (block_size is a multiple of
            // the group size, so the whole group lies in this block).
            const int64_t len = std::min(kScaleGroup, cols - j);
            for (int64_t c = 0; c < len; ++c) group[c] = static_cast<float>(w[j + c]);
            const uint16_t bits = q4_group_scale(group.data(), len);
            row_scales[j / kScaleGroup] = bits;
            scale = f16_to_f32(bits);
          }
          const int q = q4_quantize_value(static_cast<float>(w[j]), scale);
          const uint8_t nibble = static_cast<uint8_t>(q + 8);
          packed[j / 2] |= (j % 2 == 0) ? nibble : static_cast<uint8_t>(nibble << 4);
          // The dequantized value exactly as the kernels compute it.
          const float dequantized = scale * static_cast<float>(q);
          const double* u_j = u.data() + j * cols;
          const double e = (w[j] - static_cast<double>(dequantized)) / u_j[j];
          err[static_cast<size_t>(j - b0)] = e;
          for (int64_t k = j + 1; k < b1; ++k) w[k] -= e * u_j[k];
        }
        // Lazy update: the rest of the row sees this block's errors once.
        for (int64_t j = b0; j < b1; ++j) {
          const double e = err[static_cast<size_t>(j - b0)];
          const double* u_j = u.data() + j * cols;
          for (int64_t k = b1; k < cols; ++k) w[k] -= e * u_j[k];
        }
      }
    }
  });

  if (stats != nullptr) {
    stats->dead_inputs = dead_count;
    stats->damp = damp;
    stats->weight_rel_error = relative_weight_error(dense, out);
    stats->output_rel_error = relative_output_error(dense, out, hessian);
    if (options.compare_rtn) {
      const WeightMatrix rtn = weights::convert_weights(dense, weights::WeightFormat::kQ4G128);
      stats->weight_rel_error_rtn = relative_weight_error(dense, rtn);
      stats->output_rel_error_rtn = relative_output_error(dense, rtn, hessian);
    } else {
      stats->weight_rel_error_rtn = -1;
      stats->output_rel_error_rtn = -1;
    }
  }
  return out;
}

namespace {

// The calibration windows as a pass sees them, one layer at a time: each
// window's input to the current layer (saved) and its buffers.
class CalibrationPasses {
 public:
  CalibrationPasses(model::Qwen2Model& model, const std::vector<std::vector<int32_t>>& windows)
      : model_(model), passes_(windows.size()), layer_inputs_(windows.size()) {
    for (size_t w = 0; w < windows.size(); ++w) {
      model_.embed(windows[w], 0, 1, passes_[w]);
      const int64_t floats = passes_[w].n * model_.config().hidden_size;
      layer_inputs_[w].assign(passes_[w].x.begin(), passes_[w].x.begin() + floats);
    }
  }

  // H of the input of `kind` in `layer` over all windows, with the layer's
  // weights as they are now (its earlier Linears already quantized).
  std::vector<double> hessian(int64_t layer, model::LinearKind kind) {
    std::optional<HessianAccumulator> acc;
    for (size_t w = 0; w < passes_.size(); ++w) {
      model::Activations& pass = restore(w);
      const int64_t cols = kind == model::LinearKind::kO      ? model_.config().q_dim()
                           : kind == model::LinearKind::kDown ? model_.config().intermediate_size
                                                              : model_.config().hidden_size;
      if (!acc) acc.emplace(cols);
      acc->add(model_.layer_input_of(layer, kind, pass), pass.n);
    }
    return acc->hessian();
  }

  // Runs the finished (quantized) layer over every window: its outputs are
  // the next layer's inputs.
  void advance(int64_t layer) {
    for (size_t w = 0; w < passes_.size(); ++w) {
      model::Activations& pass = restore(w);
      model_.layer_forward(layer, pass, nullptr);
      std::copy_n(pass.x.begin(), layer_inputs_[w].size(), layer_inputs_[w].begin());
    }
  }

 private:
  // Window w's pass with its saved input to the current layer in x.
  model::Activations& restore(size_t w) {
    std::copy(layer_inputs_[w].begin(), layer_inputs_[w].end(), passes_[w].x.begin());
    return passes_[w];
  }

  model::Qwen2Model& model_;
  std::vector<model::Activations> passes_;
  std::vector<std::vector<float>> layer_inputs_;
};

}  // namespace

GptqModelResult gptq_quantize_model(model::Qwen2Model& model,
                                    const std::vector<std::vector<int32_t>>& calibration_windows,
                                    const GptqOptions& options) {
  const Stopwatch clock;
  GptqModelResult result;
  if (calibration_windows.empty()) fail("gptq: no calibration windows given");
  for (const auto& window : calibration_windows) {
    if (window.empty()) fail("gptq: an empty calibration window");
    result.calibration_tokens += static_cast<int64_t>(window.size());
  }
  auto& layers = model.mutable_weights().layers;
  for_each_linear(model.mutable_weights(),
                  [](int64_t layer, const std::string& name, const WeightMatrix& m) {
                    if (!is_dense(m.format)) {
                      fail("gptq: layer {} {} holds {} weights; GPTQ starts from a dense model",
                           layer, name, weights::weight_format_name(m.format));
                    }
                  });

  const auto quantize = [&](int64_t layer, std::string_view name, WeightMatrix& weight,
                            const std::vector<double>& h) {
    GptqLayerStats stats;
    WeightMatrix quantized = gptq_quantize_linear(weight, h, options, &stats);
    weight = std::move(quantized);
    result.layers.push_back({{"layer", layer},
                             {"linear", name},
                             {"weight_rel_error", stats.weight_rel_error},
                             {"output_rel_error_gptq", stats.output_rel_error},
                             {"weight_rel_error_rtn", stats.weight_rel_error_rtn},
                             {"output_rel_error_rtn", stats.output_rel_error_rtn},
                             {"dead_inputs", stats.dead_inputs}});
  };

  // Order within layer l (each step's inputs come from the model with every
  // earlier step already quantized, so errors upstream are compensated):
  //   1. q, k, v   — one H from the attention input norm of layer l;
  //   2. o         — its input, the attention output, uses the quantized q/k/v;
  //   3. gate, up  — one H from the MLP input norm, after the quantized o;
  //   4. down      — its input silu(gate)·up uses the quantized gate/up.
  // Each step runs layer l over the windows' saved inputs to it, as far as
  // the step's input; the finished layer then makes the next layer's inputs.
  // So every layer runs about three times per window in all, where
  // re-running the model from the embedding for each step took O(layers²).
  CalibrationPasses passes(model, calibration_windows);
  for (size_t li = 0; li < layers.size(); ++li) {
    const int64_t l = static_cast<int64_t>(li);
    for (const model::LinearKind kind : {model::LinearKind::kQkv, model::LinearKind::kO,
                                         model::LinearKind::kGateUp, model::LinearKind::kDown}) {
      const std::vector<double> h = passes.hessian(l, kind);
      for (const model::BlockTensor& tensor : model::block_tensors()) {
        if (tensor.role == model::TensorRole::kLinear && tensor.input == kind)
          quantize(l, model::linear_name(tensor), layers[li].*tensor.matrix, h);
      }
    }
    passes.advance(l);
  }
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tc::quant
