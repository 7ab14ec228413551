// A quantized model saved with save_checkpoint loads back with identical
// weights and logits, so an expensive method (GPTQ) runs once.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "golden_reader.h"
#include "harness/methods.h"
#include "model/checkpoint_writer.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

std::vector<float> logits_of(model::Qwen2Model& model) {
  const std::vector<int32_t> ids = {438, 470, 304, 263, 470, 872, 1168, 13, 220, 411, 4096, 7};
  auto cache = model.new_cache();
  return model.forward(ids, *cache, model::LogitsFor::kAllTokens);
}

TEST(QuantizedCheckpoint, SaveAndLoadGiveIdenticalLogits) {
  const std::string source = test::fixture_model("tiny-qwen2-s");
  for (const char* name :
       {"int8_wo_cpu", "int8_g128_cpu", "int4_g128_cpu", "dynamic_int8_cpu", "prune_mag_50_cpu"}) {
    const harness::Method& method = harness::find_method(name);
    harness::PreparedModel prepared = method.prepare({source, ""});
    const std::string out = test::make_temp_dir() + "/quantized";
    model::save_checkpoint(*prepared.model, source, out, {{"method", name}});
    model::Qwen2Model loaded = model::load_qwen2(out);
    EXPECT_EQ(loaded.weight_bytes(), prepared.model->weight_bytes()) << name;
    EXPECT_EQ(loaded.weights().layers[0].down_proj.format,
              prepared.model->weights().layers[0].down_proj.format)
        << name;
    EXPECT_EQ(loaded.weights().embed_tokens.format, prepared.model->weights().embed_tokens.format)
        << name;
    EXPECT_EQ(test::max_abs_diff(logits_of(loaded), logits_of(*prepared.model)), 0.0) << name;
    // The config says what the weights are.
    std::ifstream config_file(out + "/config.json");
    const auto config = nlohmann::json::parse(config_file);
    if (std::string(name) != "prune_mag_50_cpu") {
      EXPECT_EQ(config["quantization_config"]["quant_method"], "tinycompress") << name;
      EXPECT_EQ(config["quantization_config"]["method"], name);
    } else {
      EXPECT_FALSE(config.contains("quantization_config"));
    }
    EXPECT_TRUE(std::filesystem::exists(out + "/tokenizer.json"));
  }
}

TEST(QuantizedCheckpoint, QuantizeCommandRunsGptqOnceWithTrainSplitCalibration) {
  const std::string out = test::make_temp_dir() + "/gptq";
  const std::string command =
      test::tinycompress_bin() + " quantize --model " + test::fixture_model("tiny-qwen2-s") +
      " --method gptq_int4_g128_cpu --calib-file " TC_SOURCE_DIR "/data/kdoc --out " + out +
      " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream report_file(out + "/tinycompress_method.json");
  const auto report = nlohmann::json::parse(report_file);
  ASSERT_EQ(report["data_used"].size(), 1u);
  EXPECT_EQ(report["data_used"][0]["split"], "train");
  EXPECT_EQ(report["data_used"][0]["windows"].size(), 8u);
  EXPECT_EQ(report["method_details"]["layers"].size(), 4u * 7u);
  model::Qwen2Model loaded = model::load_qwen2(out);
  EXPECT_EQ(loaded.weights().layers[3].up_proj.format, weights::WeightFormat::kQ4G128);

  // Pointing the calibration at the test split is refused.
  const std::string bad =
      test::tinycompress_bin() + " quantize --model " + test::fixture_model("tiny-qwen2-s") +
      " --method gptq_int4_g128_cpu --calib-file " TC_SOURCE_DIR "/data/kdoc/test.txt --out " +
      out + "2 2>/dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0);
  EXPECT_FALSE(std::filesystem::exists(out + "2/model.safetensors"));
}

}  // namespace
}  // namespace tc
