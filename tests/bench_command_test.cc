// `tinycompress bench` and what it is built on: the machine-limit
// measurements, the decode byte count and the prefill FLOP count.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/model_cost.h"
#include "model/loader.h"
#include "profile/machine_limits.h"
#include "test_paths.h"

namespace tc {
namespace {

using nlohmann::json;

// Bytes a decode step must read, from the config alone: every Linear, the
// lm_head, norms, q/k/v biases, one embedding row. `element` is the bytes
// of one stored weight.
size_t expected_decode_bytes(const model::ModelConfig& c, size_t element, bool separate_lm_head) {
  const auto layers = static_cast<size_t>(c.num_layers);
  const auto hidden = static_cast<size_t>(c.hidden_size);
  const auto q_dim = static_cast<size_t>(c.q_dim());
  const auto kv_dim = static_cast<size_t>(c.kv_dim());
  const auto inter = static_cast<size_t>(c.intermediate_size);
  const auto vocab = static_cast<size_t>(c.vocab_size);
  const size_t linear_weights =
      layers * (q_dim * hidden + 2 * kv_dim * hidden + hidden * q_dim + 3 * inter * hidden);
  const size_t fp32_vectors = (2 * layers + 1) * hidden + layers * (q_dim + 2 * kv_dim);
  // Tied: the embedding matrix is the lm_head, read in full. Untied: only
  // its looked-up row is read, and the (fp32, added by the test) lm_head.
  const size_t lm_head = separate_lm_head ? 4 * vocab * hidden : element * vocab * hidden;
  return element * (linear_weights + hidden) + lm_head + 4 * fp32_vectors;
}

TEST(ModelCost, DecodeBytesCountEveryWeightReadOnce) {
  model::Qwen2Model fp32 = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  ASSERT_TRUE(fp32.config().tie_word_embeddings);
  EXPECT_EQ(eval::decode_weight_bytes_per_token(fp32),
            expected_decode_bytes(fp32.config(), 4, false));
  // Tied: everything held is read, plus the looked-up embedding row once more.
  EXPECT_EQ(eval::decode_weight_bytes_per_token(fp32),
            fp32.weight_bytes() + 4 * static_cast<size_t>(fp32.config().hidden_size));

  const model::Qwen2Model bf16 =
      model::load_qwen2(test::fixture_model("tiny-qwen2-m"), model::WeightFormat::kBF16);
  EXPECT_EQ(eval::decode_weight_bytes_per_token(bf16),
            expected_decode_bytes(bf16.config(), 2, false));

  // Untied: the lm_head is read in full, the embedding matrix one row only.
  const model::ModelConfig& c = fp32.config();
  const std::vector<float> head(static_cast<size_t>(c.vocab_size * c.hidden_size), 0.5f);
  fp32.mutable_weights().lm_head =
      kernels::make_f32_matrix(c.vocab_size, c.hidden_size, head.data());
  EXPECT_EQ(eval::decode_weight_bytes_per_token(fp32), expected_decode_bytes(c, 4, true));
}

TEST(ModelCost, ForwardFlopsMatchAHandCount) {
  model::ModelConfig c;
  c.hidden_size = 8;
  c.intermediate_size = 16;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.head_dim = 4;
  c.vocab_size = 10;
  // Per layer q 8x8, k 4x8, v 4x8, o 8x8, gate/up 16x8, down 8x16: 576 weights.
  // Prefill of 3 tokens: 2*3*576*2 layers + lm_head 2*10*8 for the last row.
  // Attention: positions 0..2 attend to 1+2+3 = 6 keys, 2*2*head_dim*heads
  // flops per key, in 2 layers: 4*4*2*6*2 = 384.
  const eval::ForwardFlops prefill = eval::forward_flops(c, 3);
  EXPECT_EQ(prefill.matmul, 6912 + 160);
  EXPECT_EQ(prefill.attention, 384);
  EXPECT_EQ(prefill.total(), 7072 + 384);
  // Logits for every row: the lm_head 3 times.
  EXPECT_EQ(eval::forward_flops(c, 3, 0, 3).matmul, 6912 + 3 * 160);
  // One decode token after 2 cached: 1 Linear pass, attends to 3 keys.
  const eval::ForwardFlops decode = eval::forward_flops(c, 1, 2);
  EXPECT_EQ(decode.matmul, 2 * 576 * 2 + 160);
  EXPECT_EQ(decode.attention, 4 * 4 * 2 * 3 * 2);
}

TEST(ModelCost, MatmulFlopsAgreeWithTheLoadedWeightShapes) {
  const model::Qwen2Model m = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  int64_t weights = 0;
  for (const auto& layer : m.weights().layers) {
    for (const auto* w : {&layer.q_proj, &layer.k_proj, &layer.v_proj, &layer.o_proj,
                          &layer.gate_proj, &layer.up_proj, &layer.down_proj}) {
      weights += w->rows * w->cols;
    }
  }
  const int64_t n = 5;
  EXPECT_EQ(eval::forward_flops(m.config(), n).matmul,
            2 * n * weights + 2 * m.lm_head().rows * m.lm_head().cols);
}

TEST(MachineLimits, ReadBandwidthIsAFinitePositiveRate) {
  const profile::RateSamples rate = profile::measure_read_bandwidth(1, size_t{64} << 20, 3);
  ASSERT_EQ(rate.samples.size(), 3u);
  EXPECT_TRUE(std::isfinite(rate.best));
  EXPECT_GT(rate.best, 0.0);
  EXPECT_GE(rate.best, rate.median);
  EXPECT_GT(profile::measure_read_bandwidth_gbs(2, size_t{16} << 20), 0.0);
}

TEST(MachineLimits, FmaPeakIsPositive) {
  const profile::RateSamples rate = profile::measure_fma_peak(1, 2, 0.02);
  ASSERT_EQ(rate.samples.size(), 2u);
  EXPECT_TRUE(std::isfinite(rate.best));
  EXPECT_GT(rate.best, 0.0);
  EXPECT_FALSE(profile::machine_limits_isa().empty());
}

std::pair<int, std::string> run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  std::string output;
  std::array<char, 4096> buffer;
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    output.append(buffer.data(), got);
  }
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// stderr joins the output for error checks; JSON is read from stdout alone
// (notes, e.g. a tiny model running from cache, go to stderr).
std::string bench_command(const std::string& arguments, const char* stderr_to = "&1") {
  return "'" + test::tinycompress_bin() + "' bench " + arguments + " 2>" + stderr_to;
}

TEST(BenchCli, ModelJsonHasTheRatesAndFractions) {
  const auto [status, output] = run_command(bench_command(
      "--model '" + test::fixture_model("tiny-qwen2-s") +
          "' --prompt-len 8 --gen 3 --repeats 2 --bandwidth-mib 32 --threads 1 --json",
      "/dev/null"));
  ASSERT_EQ(status, 0) << output;
  const json out = json::parse(output);
  for (const char* key : {"prefill_tok_s", "decode_tok_s", "decode_bytes_per_token", "decode_gbs",
                          "decode_bandwidth_fraction", "prefill_gflops", "prefill_flops_fraction",
                          "read_bandwidth_gbs", "fma_peak_gflops"}) {
    ASSERT_TRUE(out.contains(key)) << key;
    EXPECT_GT(out[key].get<double>(), 0.0) << key;
  }
  EXPECT_EQ(out["method"], "fp32_cpu");
  EXPECT_EQ(out["kv_cache"], "f32");
  EXPECT_EQ(out["threads"], 1);
  EXPECT_EQ(out["prompt_len"], 8);
  EXPECT_EQ(out["gen"], 3);
  EXPECT_EQ(out["samples"]["prefill_seconds"].size(), 2u);
  EXPECT_EQ(out["samples"]["decode_step_seconds"].size(), 3u);
  EXPECT_EQ(out["prefill_flops"]["total"].get<int64_t>(),
            out["prefill_flops"]["matmul"].get<int64_t>() +
                out["prefill_flops"]["attention"].get<int64_t>());
}

TEST(BenchCli, DecodesOverAnFp16Cache) {
  const auto [status, output] = run_command(bench_command(
      "--model '" + test::fixture_model("tiny-qwen2-s") +
          "' --prompt-len 40 --gen 2 --repeats 1 --bandwidth-mib 32 --threads 1 --kv-cache f16 "
          "--json",
      "/dev/null"));
  ASSERT_EQ(status, 0) << output;
  const json out = json::parse(output);
  EXPECT_EQ(out["kv_cache"], "f16");
  EXPECT_GT(out["decode_tok_s"].get<double>(), 0.0);
}

TEST(BenchCli, ClearErrors) {
  const std::string model = "--model '" + test::fixture_model("tiny-qwen2-s") + "'";
  auto [status, output] = run_command(bench_command(model + " --method no_such_method"));
  EXPECT_EQ(status, 1);
  EXPECT_NE(output.find("unknown method 'no_such_method'"), std::string::npos) << output;
  EXPECT_NE(output.find("fp32_cpu"), std::string::npos) << output;

  std::tie(status, output) = run_command(bench_command(""));
  EXPECT_EQ(status, 1);
  EXPECT_NE(output.find("--machine"), std::string::npos) << output;

  std::tie(status, output) = run_command(bench_command(model + " --prompt-len 0"));
  EXPECT_NE(status, 0);
  EXPECT_NE(output.find("--prompt-len"), std::string::npos) << output;

  std::tie(status, output) = run_command(bench_command(model + " --kv-cache int8"));
  EXPECT_NE(status, 0);
  EXPECT_NE(output.find("--kv-cache"), std::string::npos) << output;
}

}  // namespace
}  // namespace tc
