// GPTQ into kQ4G128: the format, dead inputs, and that compensating rounding
// errors through H beats round-to-nearest on the calibration outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "eval/dataset.h"
#include "model/loader.h"
#include "quant/gptq.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"
#include "weights/weight_matrix.h"

namespace tc {
namespace {

using weights::kScaleGroup;
using weights::WeightFormat;
using weights::WeightMatrix;

WeightMatrix random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> values(static_cast<size_t>(rows * cols));
  for (float& v : values) v = normal(rng);
  return weights::make_f32_matrix(rows, cols, values.data());
}

// [n, cols] inputs dominated by a few shared directions (as real activations
// are), plus small isotropic noise; column `dead_col` (if >= 0) is always 0.
std::vector<float> correlated_inputs(int64_t n, int64_t cols, int64_t dead_col, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  constexpr int kDirections = 4;
  std::vector<float> directions(static_cast<size_t>(kDirections * cols));
  for (float& v : directions) v = normal(rng);
  std::vector<float> x(static_cast<size_t>(n * cols));
  for (int64_t t = 0; t < n; ++t) {
    float z[kDirections];
    for (float& zk : z) zk = normal(rng) * 3.0f;
    for (int64_t c = 0; c < cols; ++c) {
      float v = 0.1f * normal(rng);
      for (int k = 0; k < kDirections; ++k)
        v += z[k] * directions[static_cast<size_t>(k * cols + c)];
      x[static_cast<size_t>(t * cols + c)] = c == dead_col ? 0.0f : v;
    }
  }
  return x;
}

// Every element decodes to scale * q with q in [-8, 7], nibble by nibble.
void expect_q4g128_layout(const WeightMatrix& m) {
  ASSERT_EQ(m.format, WeightFormat::kQ4G128);
  ASSERT_EQ(m.storage.size(), static_cast<size_t>(m.rows * ((m.cols + 1) / 2)));
  ASSERT_EQ(m.scales.size(), static_cast<size_t>(m.rows * m.scales_per_row()) * 2);
  std::vector<float> row(static_cast<size_t>(m.cols));
  for (int64_t r = 0; r < m.rows; ++r) {
    m.row_to_f32(r, row.data());
    const uint8_t* bytes = m.storage.data() + r * m.row_bytes();
    for (int64_t c = 0; c < m.cols; ++c) {
      const int nibble = c % 2 == 0 ? (bytes[c / 2] & 0x0f) : (bytes[c / 2] >> 4);
      const int q = nibble - 8;
      ASSERT_GE(q, -8);
      ASSERT_LE(q, 7);
      const float scale = f16_to_f32(m.group_scales()[r * m.scales_per_row() + c / kScaleGroup]);
      ASSERT_TRUE(std::isfinite(scale));
      ASSERT_GE(scale, 0.0f);
      ASSERT_EQ(row[static_cast<size_t>(c)], scale * static_cast<float>(q)) << r << "," << c;
    }
    // An odd column count leaves the last high nibble unused (zero).
    if (m.cols % 2 == 1) {
      EXPECT_EQ(bytes[m.cols / 2] >> 4, 0);
    }
  }
}

TEST(Gptq, BeatsRoundToNearestOnCorrelatedInputsAndHandlesDeadInputs) {
  // 301 columns: two full groups and a short odd one; column 17 never active.
  constexpr int64_t kRows = 48, kCols = 301, kTokens = 2048, kDead = 17;
  const WeightMatrix w = random_matrix(kRows, kCols, 7);
  const std::vector<float> x = correlated_inputs(kTokens, kCols, kDead, 11);
  quant::HessianAccumulator acc(kCols);
  acc.add(x.data(), kTokens / 2);
  acc.add(x.data() + (kTokens / 2) * kCols, kTokens / 2);
  const std::vector<double> h = acc.hessian();
  EXPECT_EQ(h[kDead * kCols + kDead], 0.0);
  // H = 2XᵀX/n, spot-checked against a direct sum.
  double direct = 0;
  for (int64_t t = 0; t < kTokens; ++t) direct += double(x[t * kCols + 3]) * x[t * kCols + 250];
  EXPECT_NEAR(h[3 * kCols + 250], 2.0 * direct / kTokens, 1e-9 * std::abs(direct) + 1e-12);
  EXPECT_EQ(h[3 * kCols + 250], h[250 * kCols + 3]);

  quant::GptqLayerStats stats;
  const WeightMatrix q = quant::gptq_quantize_linear(w, h, {}, &stats);
  expect_q4g128_layout(q);
  EXPECT_EQ(stats.dead_inputs, 1);
  std::vector<float> row(kCols);
  for (int64_t r = 0; r < kRows; ++r) {
    q.row_to_f32(r, row.data());
    EXPECT_EQ(row[kDead], 0.0f) << "row " << r;
  }

  const WeightMatrix rtn = weights::convert_weights(w, weights::WeightFormat::kQ4G128);
  const double gptq_error = quant::relative_output_error(w, q, h);
  const double rtn_error = quant::relative_output_error(w, rtn, h);
  EXPECT_DOUBLE_EQ(stats.output_rel_error, gptq_error);
  EXPECT_DOUBLE_EQ(stats.output_rel_error_rtn, rtn_error);
  std::printf("synthetic: output error gptq %.3e rtn %.3e; weight error gptq %.4f rtn %.4f\n",
              gptq_error, rtn_error, stats.weight_rel_error, stats.weight_rel_error_rtn);
  // GPTQ trades weight error for output error.
  EXPECT_LT(gptq_error, 0.5 * rtn_error);
  EXPECT_GT(stats.weight_rel_error, stats.weight_rel_error_rtn);
}

TEST(Gptq, DiagonalHessianGivesRoundToNearest) {
  // With uncorrelated inputs there is nothing to compensate through: H⁻¹ is
  // diagonal, no error moves to other columns, and GPTQ must reproduce
  // round-to-nearest byte for byte (same scales, same nibbles).
  constexpr int64_t kRows = 16, kCols = 257;
  const WeightMatrix w = random_matrix(kRows, kCols, 3);
  std::vector<double> h(kCols * kCols, 0.0);
  for (int64_t i = 0; i < kCols; ++i) h[i * kCols + i] = 0.5 + 0.01 * static_cast<double>(i);
  const WeightMatrix q = quant::gptq_quantize_linear(w, h, {}, nullptr);
  const WeightMatrix rtn = weights::convert_weights(w, weights::WeightFormat::kQ4G128);
  expect_q4g128_layout(q);
  ASSERT_EQ(q.storage.size(), rtn.storage.size());
  ASSERT_EQ(q.scales.size(), rtn.scales.size());
  for (size_t i = 0; i < q.storage.size(); ++i) ASSERT_EQ(q.storage[i], rtn.storage[i]) << i;
  for (size_t i = 0; i < q.scales.size(); ++i) ASSERT_EQ(q.scales[i], rtn.scales[i]) << i;
}

TEST(Gptq, RejectsBadInputs) {
  const WeightMatrix w = random_matrix(4, 8, 1);
  EXPECT_THROW(quant::gptq_quantize_linear(w, std::vector<double>(7 * 7, 0.0), {}, nullptr), Error);
  quant::GptqOptions odd_block;
  odd_block.block_size = 100;
  EXPECT_THROW(quant::gptq_quantize_linear(w, std::vector<double>(64, 0.0), odd_block, nullptr),
               Error);
  EXPECT_THROW(
      quant::gptq_quantize_linear(weights::convert_weights(w, weights::WeightFormat::kQ4G128),
                                  std::vector<double>(64, 0.0), {}, nullptr),
      Error);
  EXPECT_THROW(quant::HessianAccumulator(8).hessian(), Error);
}

// The required check: on a real (fixture) model with calibration windows from
// the kdoc TRAIN split, every Linear's calibration-output error under GPTQ is
// below round-to-nearest's (8 windows x 256 tokens, as the method uses).
TEST(Gptq, ModelEveryLinearBeatsRoundToNearest) {
  const std::string dir = test::fixture_model("tiny-qwen2-m");
  model::Qwen2Model model = model::load_qwen2(dir, WeightFormat::kF32);
  const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_model_dir(dir);
  const eval::TextSplit split =
      eval::load_split(std::string(TC_SOURCE_DIR) + "/data/kdoc", "train");
  const std::vector<eval::TextWindow> windows =
      eval::sample_token_windows(split, tok, 8, 256, 1234);
  const nlohmann::json data_used = eval::to_json(split, windows, "calibration");
  EXPECT_EQ(data_used["split"], "train");
  std::vector<std::vector<int32_t>> ids;
  for (const auto& window : windows) ids.push_back(window.ids);

  const quant::GptqModelResult result = quant::gptq_quantize_model(model, ids);
  EXPECT_EQ(result.calibration_tokens, 8 * 256);
  ASSERT_EQ(result.layers.size(), static_cast<size_t>(model.config().num_layers * 7));
  std::printf("%-5s %-9s %12s %12s %10s %10s\n", "layer", "linear", "out_gptq", "out_rtn", "w_gptq",
              "w_rtn");
  for (const auto& entry : result.layers) {
    const double gptq = entry["output_rel_error_gptq"];
    const double rtn = entry["output_rel_error_rtn"];
    std::printf("%-5d %-9s %12.4e %12.4e %10.4f %10.4f\n", entry["layer"].get<int>(),
                entry["linear"].get<std::string>().c_str(), gptq, rtn,
                entry["weight_rel_error"].get<double>(),
                entry["weight_rel_error_rtn"].get<double>());
    EXPECT_LT(gptq, rtn) << entry.dump();
    EXPECT_GT(gptq, 0.0) << entry.dump();
  }
  std::printf("GPTQ tiny-qwen2-m, 8 x 256 tokens: %.2f s\n", result.seconds);

  // Every decoder Linear is now kQ4G128 and the model still runs.
  for (const auto& layer : model.weights().layers) {
    for (const WeightMatrix* m : {&layer.q_proj, &layer.k_proj, &layer.v_proj, &layer.o_proj,
                                  &layer.gate_proj, &layer.up_proj, &layer.down_proj}) {
      EXPECT_EQ(m->format, WeightFormat::kQ4G128);
    }
  }
  auto cache = model.new_cache();
  const std::vector<float> logits = model.forward(ids[0], *cache);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace tc
