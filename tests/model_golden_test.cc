// The forward pass and greedy decoding against transformers' own answers
// (../shared/fixtures/golden), in fp32, for every fixture model.
#include <gtest/gtest.h>

#include <cstdio>

#include "decode/greedy_decoder.h"
#include "golden_reader.h"
#include "io/safetensors.h"
#include "model/kv_cache.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

class ModelGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelGolden, LogitsAndHiddenStatesMatchTransformers) {
  const std::string name = GetParam();
  model::Qwen2Model model = model::load_qwen2(test::fixture_model(name));
  const auto golden = io::TensorStore::open_file(test::golden_dir(name) + "/golden.safetensors");
  const std::vector<int32_t> ids = test::as_ids(golden.get("input_ids"));

  auto cache = model.new_cache();
  model::HiddenStates hidden;
  const std::vector<float> logits =
      model.forward(ids, *cache, model::LogitsFor::kAllTokens, &hidden);
  const double logits_error = test::max_abs_diff(logits, test::as_floats(golden.get("logits")));
  EXPECT_LT(logits_error, 1e-4) << name << " logits";

  const std::vector<float> golden_hidden = test::as_floats(golden.get("hidden_states"));
  const size_t per_layer = ids.size() * static_cast<size_t>(model.config().hidden_size);
  ASSERT_EQ(hidden.size(), golden_hidden.size() / per_layer);
  std::printf("[%s] logits max |err| %.3g; hidden_states max |err| per entry:", name.c_str(),
              logits_error);
  for (size_t layer = 0; layer < hidden.size(); ++layer) {
    const std::vector<float> expected(golden_hidden.begin() + layer * per_layer,
                                      golden_hidden.begin() + (layer + 1) * per_layer);
    const double error = test::max_abs_diff(hidden[layer], expected);
    std::printf(" %.3g", error);
    EXPECT_LT(error, 1e-4) << name << " hidden_states[" << layer << "]";
  }
  std::printf("\n");
}

TEST_P(ModelGolden, BatchLastLogitsMatchTransformers) {
  const std::string name = GetParam();
  model::Qwen2Model model = model::load_qwen2(test::fixture_model(name));
  const auto golden = io::TensorStore::open_file(test::golden_dir(name) + "/golden.safetensors");
  const std::vector<int32_t> batch = test::as_ids(golden.get("batch_input_ids"));
  const std::vector<float> expected = test::as_floats(golden.get("batch_logits_last"));
  const size_t rows = 2, length = batch.size() / rows;
  const size_t vocab = static_cast<size_t>(model.config().vocab_size);
  for (size_t row = 0; row < rows; ++row) {
    auto cache = model.new_cache();
    const std::vector<float> logits =
        model.forward(std::span<const int32_t>(batch.data() + row * length, length), *cache);
    const std::vector<float> want(expected.begin() + row * vocab,
                                  expected.begin() + (row + 1) * vocab);
    EXPECT_LT(test::max_abs_diff(logits, want), 1e-4) << name << " batch row " << row;
  }
}

TEST_P(ModelGolden, GreedyIdsMatchTransformers) {
  const std::string name = GetParam();
  model::Qwen2Model model = model::load_qwen2(test::fixture_model(name));
  const nlohmann::json golden = test::read_json(test::golden_dir(name) + "/golden.json");
  ASSERT_FALSE(golden["greedy"].empty());
  // Both caches: f32 (the harness's) and f16 (generate's and bench's default).
  for (const auto format : {model::KvFormat::kF32, model::KvFormat::kF16}) {
    for (const auto& prompt : golden["greedy"]) {
      const auto prompt_ids = prompt["prompt_ids"].get<std::vector<int32_t>>();
      const auto expected = prompt["new_ids"].get<std::vector<int32_t>>();
      decode::GreedyDecoder decoder(model, {.kv_format = format});
      const auto result =
          decode::generate(decoder, prompt_ids, static_cast<int64_t>(expected.size()));
      EXPECT_EQ(result.new_ids, expected)
          << name << " " << model::kv_format_name(format) << " cache, prompt: " << prompt["prompt"];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ModelGolden,
                         ::testing::Values("tiny-qwen2-s", "tiny-qwen2-m", "tiny-qwen2-l"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) c = (c == '-') ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace tc
