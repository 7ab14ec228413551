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

#include "error_of.h"
#include "eval/bench_run.h"
#include "eval/model_cost.h"
#include "model/loader.h"
#include "profile/machine_limits.h"
#include "profile/paired_fraction.h"
#include "test_paths.h"

namespace tc {
namespace {

using nlohmann::json;
using test::error_of;

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
      weights::make_f32_matrix(c.vocab_size, c.hidden_size, head.data());
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

TEST(MachineLimits, ProbeMeasuresAgainWithTheSameBuffer) {
  profile::ReadBandwidthProbe probe(2, (size_t{8} << 20) + 100);
  EXPECT_EQ(probe.threads(), 2u);
  // Rounded down to whole 512-byte steps per thread.
  EXPECT_EQ(probe.bytes(), size_t{8} << 20);
  for (int repeats : {1, 2}) {
    const profile::RateSamples rate = probe.measure(repeats);
    ASSERT_EQ(rate.samples.size(), static_cast<size_t>(repeats));
    EXPECT_TRUE(std::isfinite(rate.best));
    EXPECT_GT(rate.best, 0.0);
  }
  EXPECT_NE(error_of([&] { probe.measure(0); }).find("repeats"), std::string::npos);
  EXPECT_NE(error_of([] { profile::ReadBandwidthProbe(4, 1000); }).find("too small"),
            std::string::npos);
}

TEST(PairedFractions, EachPartAgainstTheHigherProbeAroundIt) {
  // Probes 50, 80, 80, 40: the middle part ran between two fast probes, the
  // first and last straddle a change and are held to the fast probe.
  const std::vector<double> parts = {40, 72, 36};
  const std::vector<double> probes = {50, 80, 80, 40};
  const profile::PairedFractions paired = profile::paired_fractions(parts, probes);
  ASSERT_EQ(paired.fractions.size(), 3u);
  EXPECT_DOUBLE_EQ(paired.fractions[0], 40.0 / 80);
  EXPECT_DOUBLE_EQ(paired.fractions[1], 72.0 / 80);
  EXPECT_DOUBLE_EQ(paired.fractions[2], 36.0 / 80);
  EXPECT_DOUBLE_EQ(paired.median, 0.5);
  EXPECT_DOUBLE_EQ(paired.lowest, 0.45);
  EXPECT_DOUBLE_EQ(paired.highest, 0.9);

  // An even count: the mean of the middle two.
  const std::vector<double> four = {10, 20, 30, 40};
  const std::vector<double> flat = {100, 100, 100, 100, 100};
  EXPECT_DOUBLE_EQ(profile::paired_fractions(four, flat).median, 0.25);
}

// bench's arithmetic on hand-made timings: best and median prefill, all
// decode steps together, each part's rate and its paired fraction. A step
// reads 1 GB of weights and 10 MB of KV cache per position.
TEST(BenchRun, SummaryFromHandMadeTimings) {
  eval::BenchTimings timings;
  timings.prefill_s = {0.5, 0.25, 1.0};
  timings.decode_step_s = {0.1, 0.1, 0.2, 0.2, 0.4};
  timings.decode_step_positions = {10, 11, 13, 14, 15};  // an untimed step between the parts
  timings.kv_bytes_per_position = 10'000'000;
  timings.part_steps = {2, 3};
  timings.probe_gbs = {10, 20, 5};
  profile::MachineLimits limits;
  limits.read_bandwidth_gbs = 50;
  limits.fma_peak_gflops = 10;
  const eval::ForwardFlops flops{.matmul = 800'000'000, .attention = 200'000'000};
  const eval::BenchSummary s = eval::summarize_bench(timings, 100, flops, 1'000'000'000, limits);
  EXPECT_DOUBLE_EQ(s.prefill_tok_s, 100 / 0.25);
  EXPECT_DOUBLE_EQ(s.prefill_tok_s_median, 100 / 0.5);
  EXPECT_DOUBLE_EQ(s.prefill_gflops, 4.0);  // 1 GFLOP in 0.25 s
  EXPECT_DOUBLE_EQ(s.prefill_flops_fraction, 0.4);
  EXPECT_DOUBLE_EQ(s.decode_tok_s, 5 / 1.0);
  EXPECT_DOUBLE_EQ(s.decode_median_step_s, 0.2);
  // KV: 63 positions · 10 MB over 5 steps.
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token_read, 126e6);
  EXPECT_DOUBLE_EQ(s.decode_bytes_per_token, 1.126e9);
  EXPECT_DOUBLE_EQ(s.decode_gbs, 1.126 * 5);
  EXPECT_DOUBLE_EQ(s.decode_bandwidth_fraction, 1.126 * 5 / 50);
  ASSERT_EQ(s.part_gbs.size(), 2u);
  EXPECT_DOUBLE_EQ(s.part_gbs[0], 2.21 / 0.2);  // 2 GB of weights, 21 positions
  EXPECT_DOUBLE_EQ(s.part_gbs[1], 3.42 / 0.8);  // 3 GB, 42 positions
  // Part 0 between probes 10 and 20, part 1 between 20 and 5.
  EXPECT_DOUBLE_EQ(s.paired.fractions[0], 11.05 / 20);
  EXPECT_DOUBLE_EQ(s.paired.fractions[1], 4.275 / 20);
  EXPECT_DOUBLE_EQ(s.paired.median, (11.05 / 20 + 4.275 / 20) / 2);

  timings.decode_step_positions.pop_back();
  EXPECT_NE(error_of([&] {
              eval::summarize_bench(timings, 100, flops, 1, limits);
            }).find("5 decode steps were timed, 4 have positions"),
            std::string::npos);
  timings.decode_step_positions.push_back(15);

  timings.part_steps = {2, 2};
  EXPECT_NE(error_of([&] {
              eval::summarize_bench(timings, 100, flops, 1, limits);
            }).find("the decode parts hold 4 steps, 5 were timed"),
            std::string::npos);
  timings.prefill_s.clear();
  EXPECT_NE(error_of([&] {
              eval::summarize_bench(timings, 100, flops, 1, limits);
            }).find("no timed prefill or decode step"),
            std::string::npos);
}

TEST(PairedFractions, BadInputNamesTheValue) {
  const std::vector<double> one = {1};
  const std::vector<double> two = {1, 2};
  const std::vector<double> none;
  EXPECT_NE(error_of([&] { profile::paired_fractions(one, one); }).find("1 parts need 2 limits"),
            std::string::npos);
  EXPECT_NE(error_of([&] { profile::paired_fractions(none, one); }).find("no parts"),
            std::string::npos);
  const std::vector<double> zero_part = {0};
  EXPECT_NE(error_of([&] { profile::paired_fractions(zero_part, two); }).find("part 0 is 0"),
            std::string::npos);
  const std::vector<double> nan_limit = {1, std::nan("")};
  EXPECT_NE(error_of([&] { profile::paired_fractions(one, nan_limit); }).find("limit 1 is nan"),
            std::string::npos);
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

// `bench --json` on the small fixture model with `arguments`; a failed run
// fails the test and gives an empty object.
json bench_small_model(const std::string& arguments) {
  const auto [status, output] = run_command(bench_command(
      "--model '" + test::fixture_model("tiny-qwen2-s") + "' " + arguments + " --json",
      "/dev/null"));
  if (status != 0) {
    ADD_FAILURE() << "bench " << arguments << " exited with " << status << ": " << output;
    return json::object();
  }
  return json::parse(output);
}

TEST(BenchCli, ModelJsonHasTheRatesAndFractions) {
  const json out =
      bench_small_model("--prompt-len 8 --gen 3 --repeats 2 --bandwidth-mib 32 --threads 1");
  for (const char* key : {"prefill_tok_s", "decode_tok_s", "decode_bytes_per_token", "decode_gbs",
                          "decode_bandwidth_fraction", "prefill_gflops", "prefill_flops_fraction",
                          "read_bandwidth_gbs", "fma_peak_gflops"}) {
    ASSERT_TRUE(out.contains(key)) << key;
    EXPECT_GT(out[key].get<double>(), 0.0) << key;
  }
  EXPECT_EQ(out["method"], "fp32_cpu");
  EXPECT_EQ(out["kv_cache"], "f32");  // the method's
  // Each timed step reads the cache of every position so far: three parts
  // of one step after 8 prompt and 2 warm-up tokens, an untimed step
  // before parts 1 and 2, so positions 11, 13 and 15.
  const model::ModelConfig config = model::load_qwen2(test::fixture_model("tiny-qwen2-s")).config();
  const auto kv_bytes = static_cast<size_t>(2 * config.num_layers * config.kv_dim() * 4);
  EXPECT_EQ(out["kv_cache_bytes_per_position"].get<size_t>(), kv_bytes);
  EXPECT_DOUBLE_EQ(out["kv_bytes_per_token_read"].get<double>(), 13.0 * kv_bytes);
  EXPECT_EQ(out["threads"], 1);
  EXPECT_EQ(out["prompt_len"], 8);
  EXPECT_EQ(out["gen"], 3);
  EXPECT_EQ(out["samples"]["prefill_seconds"].size(), 2u);
  EXPECT_EQ(out["samples"]["decode_step_seconds"].size(), 3u);
  EXPECT_EQ(out["prefill_flops"]["total"].get<int64_t>(),
            out["prefill_flops"]["matmul"].get<int64_t>() +
                out["prefill_flops"]["attention"].get<int64_t>());
  // Three steps in the default four parts: one part per step, a probe
  // around each, and one untimed step after each probe between parts.
  EXPECT_GT(out["decode_bandwidth_fraction_paired"].get<double>(), 0.0);
  EXPECT_EQ(out["decode_parts"]["steps"], json::array({1, 1, 1}));
  EXPECT_EQ(out["decode_parts"]["probe_gbs"].size(), 4u);
  EXPECT_EQ(out["decode_parts"]["fractions"].size(), 3u);
  EXPECT_EQ(out["samples"]["decode_warmup_seconds"].size(), 4u);
}

TEST(BenchCli, DecodePartsSplitTheStepsNearlyEqually) {
  const json out = bench_small_model(
      "--prompt-len 8 --gen 7 --decode-parts 3 --repeats 1 --bandwidth-mib 16 --threads 1");
  EXPECT_EQ(out["decode_parts"]["steps"], json::array({3, 2, 2}));
  EXPECT_EQ(out["samples"]["decode_step_seconds"].size(), 7u);
  // Each part's rate is its steps' bytes over their time: the weights three
  // times and the KV cache of positions 11, 12 and 13 (8 prompt tokens, 2
  // warm-up steps).
  const double weight_bytes =
      out["decode_bytes_per_token"].get<double>() - out["kv_bytes_per_token_read"].get<double>();
  const double part_bytes =
      3 * weight_bytes + (11 + 12 + 13) * out["kv_cache_bytes_per_position"].get<double>();
  const auto& steps = out["samples"]["decode_step_seconds"];
  const double first_part =
      steps[0].get<double>() + steps[1].get<double>() + steps[2].get<double>();
  EXPECT_NEAR(out["decode_parts"]["gbs"][0].get<double>(), part_bytes / first_part / 1e9,
              1e-9 * out["decode_parts"]["gbs"][0].get<double>());
}

TEST(BenchCli, KvCacheOptionOverridesTheMethods) {
  const json out = bench_small_model(
      "--prompt-len 40 --gen 2 --repeats 1 --bandwidth-mib 32 --threads 1 --kv-cache f16");
  EXPECT_EQ(out["kv_cache"], "f16");
  EXPECT_GT(out["decode_tok_s"].get<double>(), 0.0);
  // Half the bytes of fp32 per position.
  const model::ModelConfig config = model::load_qwen2(test::fixture_model("tiny-qwen2-s")).config();
  EXPECT_EQ(out["kv_cache_bytes_per_position"].get<size_t>(),
            static_cast<size_t>(2 * config.num_layers * config.kv_dim() * 2));
}

TEST(BenchCli, ComparesALongerContextInTheSameProcess) {
  const json out = bench_small_model(
      "--prompt-len 8 --compare-context 24 --gen 3 --repeats 1 --bandwidth-mib 16 --threads 1");
  ASSERT_TRUE(out.contains("context_compare")) << out.dump();
  const json& pair = out["context_compare"];
  EXPECT_EQ(pair["short_context"], 8);
  EXPECT_EQ(pair["long_context"], 24);
  EXPECT_EQ(pair["round_steps"], json::array({1, 1, 1}));  // one step a round
  EXPECT_EQ(pair["samples"]["short_step_seconds"].size(), 3u);
  EXPECT_EQ(pair["samples"]["long_step_seconds"].size(), 3u);
  EXPECT_GT(pair["short_tok_s"].get<double>(), 0.0);
  EXPECT_GT(pair["long_tok_s"].get<double>(), 0.0);
  // One step a round: each round's ratio is short step time over long.
  const json& short_s = pair["samples"]["short_step_seconds"];
  const json& long_s = pair["samples"]["long_step_seconds"];
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_DOUBLE_EQ(pair["round_ratios"][r].get<double>(),
                     short_s[r].get<double>() / long_s[r].get<double>());
  }
  EXPECT_EQ(out["decode_context_ratio"], pair["median_round_ratio"]);
  // Without the flag there is no comparison.
  EXPECT_FALSE(bench_small_model("--prompt-len 8 --gen 1 --repeats 1 --bandwidth-mib 16 "
                                 "--threads 1")
                   .contains("context_compare"));
}

TEST(BenchCli, ComparesAnotherKvCacheFormatInTheSameProcess) {
  const json out = bench_small_model(
      "--prompt-len 40 --kv-cache f16 --compare-kv-cache int8 --gen 3 --repeats 1 "
      "--bandwidth-mib 16 --threads 1");
  ASSERT_TRUE(out.contains("kv_cache_compare")) << out.dump();
  const json& pair = out["kv_cache_compare"];
  EXPECT_EQ(pair["context"], 40);
  EXPECT_EQ(pair["kv_cache"], "f16");
  EXPECT_EQ(pair["other_kv_cache"], "int8");
  EXPECT_EQ(pair["round_steps"], json::array({1, 1, 1}));
  const json& own = pair["samples"]["step_seconds"];
  const json& other = pair["samples"]["other_step_seconds"];
  ASSERT_EQ(own.size(), 3u);
  ASSERT_EQ(other.size(), 3u);
  // One step a round: each round's ratio (other tok/s over own) is the own
  // step time over the other's.
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_DOUBLE_EQ(pair["round_ratios"][r].get<double>(),
                     own[r].get<double>() / other[r].get<double>());
  }
  EXPECT_GT(pair["other_tok_s"].get<double>(), 0.0);
  EXPECT_FALSE(out.contains("context_compare"));
}

TEST(BenchCli, TimesAVerifyPassAgainstADecodeStep) {
  const json out = bench_small_model(
      "--prompt-len 8 --verify-tokens 5 --gen 3 --repeats 1 --bandwidth-mib 16 --threads 1");
  ASSERT_TRUE(out.contains("verify_cost")) << out.dump();
  const json& verify = out["verify_cost"];
  EXPECT_EQ(verify["tokens"], 5);
  EXPECT_EQ(verify["context"], 8);  // both passes from the prompt's context
  EXPECT_EQ(verify["rounds"], 3);   // --gen rounds of one pass each
  ASSERT_EQ(verify["samples"]["verify_seconds"].size(), 3u);
  ASSERT_EQ(verify["samples"]["step_seconds"].size(), 3u);
  // Three samples: the median is the middle one, the ratio median over median.
  for (const char* pass : {"verify_seconds", "step_seconds"}) {
    std::vector<double> samples = verify["samples"][pass].get<std::vector<double>>();
    std::sort(samples.begin(), samples.end());
    EXPECT_GT(samples[0], 0.0) << pass;
    EXPECT_EQ(verify[pass]["min"].get<double>(), samples[0]) << pass;
    EXPECT_EQ(verify[pass]["median"].get<double>(), samples[1]) << pass;
    EXPECT_EQ(verify[pass]["max"].get<double>(), samples[2]) << pass;
  }
  EXPECT_DOUBLE_EQ(verify["ratio"].get<double>(),
                   verify["verify_seconds"]["median"].get<double>() /
                       verify["step_seconds"]["median"].get<double>());
  // Without the flag there is no verify measurement.
  EXPECT_FALSE(bench_small_model("--prompt-len 8 --gen 1 --repeats 1 --bandwidth-mib 16 "
                                 "--threads 1")
                   .contains("verify_cost"));
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

  std::tie(status, output) = run_command(bench_command(model + " --decode-parts 0"));
  EXPECT_NE(status, 0);
  EXPECT_NE(output.find("--decode-parts"), std::string::npos) << output;

  // Position counts are checked against config.json before the machine is
  // measured (its progress line never appears), so a bad count fails at once.
  const std::pair<const char*, const char*> too_many_positions[] = {
      {" --compare-context 40000",
       "--compare-context 40000 + --gen 32 + 2 warm-up steps = 40034 positions"},
      {" --prompt-len 40000", "--prompt-len 40000 + --gen 32 + 5 warm-up steps = 40037 positions"},
      {" --prompt-len 32760 --gen 1 --verify-tokens 9",
       "--prompt-len 32760 + --verify-tokens 9 = 32769 positions"},
  };
  for (const auto& [arguments, message] : too_many_positions) {
    std::tie(status, output) = run_command(bench_command(model + arguments));
    EXPECT_EQ(status, 1) << arguments;
    EXPECT_NE(output.find(message), std::string::npos) << output;
    EXPECT_EQ(output.find("measuring read bandwidth"), std::string::npos) << output;
  }

  for (const char* option : {"--kv-cache", "--compare-kv-cache"}) {
    std::tie(status, output) = run_command(bench_command(model + " " + option + " int4"));
    EXPECT_NE(status, 0);
    EXPECT_NE(output.find(option), std::string::npos) << output;
  }
}

}  // namespace
}  // namespace tc
