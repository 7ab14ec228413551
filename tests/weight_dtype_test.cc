// Holding the weights as bf16 or fp16 instead of fp32.
//
// The fixture checkpoints are stored in bf16, so bf16 storage keeps every
// weight exactly and the kernels widen bf16 to fp32 exactly: logits must be
// the fp32 logits (same accumulation order), i.e. identical.
//
// fp16 has 3 more mantissa bits than bf16 but a narrower exponent range:
// a bf16 weight with |w| >= 2^-14 is exact in fp16; smaller ones become
// fp16 subnormals with an absolute error <= 2^-25 (~3e-8), and |w| < 2^-25
// rounds to 0. Over a row of K products with activations |x| <~ 10 this
// bounds the change of one dot product by about K·10·3e-8 ~ 1e-4 in the
// worst case (K = 960) and far less in practice, since few weights are that
// small. The test allows 1e-3 on the logits, and the measured error is
// printed.
#include <gtest/gtest.h>

#include <cstdio>

#include "decode/greedy_decoder.h"
#include "golden_reader.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

class WeightDtype : public ::testing::TestWithParam<std::string> {};

std::vector<float> logits_for(model::Qwen2Model& model, const std::vector<int32_t>& ids) {
  auto cache = model.new_cache();
  return model.forward(ids, *cache, model::LogitsFor::kAllTokens);
}

TEST_P(WeightDtype, Bf16AndFp16LogitsAndGreedy) {
  const std::string name = GetParam();
  const std::string dir = test::fixture_model(name);
  const auto golden = io::TensorStore::open_file(test::golden_dir(name) + "/golden.safetensors");
  const std::vector<int32_t> ids = test::as_ids(golden.get("input_ids"));
  const std::vector<float> expected = test::as_floats(golden.get("logits"));
  const nlohmann::json greedy = test::read_json(test::golden_dir(name) + "/golden.json")["greedy"];

  model::Qwen2Model fp32 = model::load_qwen2(dir, model::WeightFormat::kF32);
  const std::vector<float> fp32_logits = logits_for(fp32, ids);

  for (const auto format : {model::WeightFormat::kBF16, model::WeightFormat::kF16}) {
    model::Qwen2Model model = model::load_qwen2(dir, format);
    // Matrices take half the bytes; norms and biases stay fp32.
    EXPECT_LT(model.weight_bytes(), fp32.weight_bytes() * 51 / 100);
    const std::vector<float> logits = logits_for(model, ids);
    const double vs_fp32 = test::max_abs_diff(logits, fp32_logits);
    const double vs_golden = test::max_abs_diff(logits, expected);
    const auto format_name = std::string(weights::weight_format_name(format));
    if (format == model::WeightFormat::kBF16) {
      EXPECT_EQ(vs_fp32, 0.0) << name << ": bf16 weights are exact, logits must equal fp32's";
    } else {
      EXPECT_LT(vs_fp32, 1e-3) << name << " fp16";
    }
    int matching_prompts = 0;
    for (const auto& prompt : greedy) {
      const auto prompt_ids = prompt["prompt_ids"].get<std::vector<int32_t>>();
      const auto want = prompt["new_ids"].get<std::vector<int32_t>>();
      decode::GreedyDecoder decoder(model);
      const auto result = decode::generate(decoder, prompt_ids, static_cast<int64_t>(want.size()));
      matching_prompts += result.new_ids == want;
      if (format == model::WeightFormat::kBF16) {
        EXPECT_EQ(result.new_ids, want) << name;
      }
    }
    std::printf(
        "[%s %s] logits max |err| vs fp32 %.3g, vs golden %.3g; greedy ids equal to "
        "golden for %d/%zu prompts\n",
        name.c_str(), format_name.c_str(), vs_fp32, vs_golden, matching_prompts, greedy.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, WeightDtype,
                         ::testing::Values("tiny-qwen2-s", "tiny-qwen2-m", "tiny-qwen2-l"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) c = (c == '-') ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace tc
