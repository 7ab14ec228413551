// config.json parsing: the fixture's values, the transformers 4.x/5.x
// spellings, generation_config.json, and one precise error per bad field.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "error_of.h"
#include "io/hf_config.h"
#include "test_paths.h"

namespace tc {
namespace {

using nlohmann::json;

json fixture_config() {
  std::ifstream in(test::fixture_model("tiny-qwen2-s") + "/config.json");
  return json::parse(in);
}

model::ModelConfig parse(const json& config, const std::string& generation = "") {
  return io::parse_hf_config(config.dump(), "/m/config.json", generation);
}

using test::error_of;

// Parsing the fixture config after `edit` fails naming config.json and `expected`.
void expect_config_error(const std::function<void(json&)>& edit, const std::string& expected) {
  json config = fixture_config();
  edit(config);
  const std::string message = error_of([&] { parse(config); });
  EXPECT_EQ(message.rfind("/m/config.json: ", 0), 0u) << message;
  EXPECT_NE(message.find(expected), std::string::npos)
      << "expected '" << expected << "' in: " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(HfConfig, ReadsTheFixture) {
  const model::ModelConfig config = io::load_hf_config(test::fixture_model("tiny-qwen2-s"));
  EXPECT_EQ(config.architecture, "Qwen2ForCausalLM");
  EXPECT_EQ(config.hidden_size, 128);
  EXPECT_EQ(config.intermediate_size, 512);
  EXPECT_EQ(config.num_layers, 4);
  EXPECT_EQ(config.num_heads, 4);
  EXPECT_EQ(config.num_kv_heads, 2);
  EXPECT_EQ(config.head_dim, 32);
  EXPECT_EQ(config.vocab_size, 4160);
  EXPECT_EQ(config.max_position_embeddings, 32768);
  EXPECT_EQ(config.rms_norm_eps, 1e-6);
  EXPECT_EQ(config.rope_theta, 1e6);
  EXPECT_TRUE(config.tie_word_embeddings);
  EXPECT_EQ(config.eos_token_ids, std::vector<int32_t>{4096});
  EXPECT_EQ(config.torch_dtype, "bfloat16");
  EXPECT_EQ(config.q_dim(), 128);
  EXPECT_EQ(config.kv_dim(), 64);
}

TEST(HfConfig, Transformers5Spellings) {
  json config = fixture_config();
  const double theta = config["rope_theta"];
  config.erase("rope_theta");
  config.erase("torch_dtype");
  config["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 5e5}};
  config["dtype"] = "float32";
  config["layer_types"] = json::array({"full_attention", "full_attention"});
  config["rope_scaling"] = nullptr;
  model::ModelConfig parsed = parse(config);
  EXPECT_EQ(parsed.rope_theta, 5e5);
  EXPECT_EQ(parsed.torch_dtype, "float32");
  // Top level wins when both are given (transformers 4.x reads the top level).
  config["rope_theta"] = theta;
  EXPECT_EQ(parse(config).rope_theta, theta);
  // A default (unscaled) rope_scaling object is plain RoPE too.
  config["rope_scaling"] = {{"rope_type", "default"}, {"rope_theta", theta}};
  EXPECT_EQ(parse(config).rope_theta, theta);
  // transformers ignores a factor under the default type.
  config["rope_scaling"] = {{"rope_type", "default"}, {"factor", 1.0}};
  EXPECT_EQ(parse(config).rope_theta, theta);
}

TEST(HfConfig, OptionalFieldsTakeQwen2Defaults) {
  json config = fixture_config();
  for (const char* field : {"num_key_value_heads", "max_position_embeddings", "tie_word_embeddings",
                            "eos_token_id", "hidden_act"}) {
    config.erase(field);
  }
  config["head_dim"] = nullptr;
  const model::ModelConfig parsed = parse(config);
  EXPECT_EQ(parsed.num_kv_heads, 4);
  EXPECT_EQ(parsed.max_position_embeddings, 32768);
  EXPECT_FALSE(parsed.tie_word_embeddings);
  EXPECT_TRUE(parsed.eos_token_ids.empty());
  EXPECT_EQ(parsed.head_dim, 32);
}

TEST(HfConfig, ExplicitHeadDim) {
  json config = fixture_config();
  config["head_dim"] = 64;
  const model::ModelConfig parsed = parse(config);
  EXPECT_EQ(parsed.head_dim, 64);
  EXPECT_EQ(parsed.q_dim(), 256);
}

TEST(HfConfig, GenerationConfigEosWins) {
  json config = fixture_config();
  config["eos_token_id"] = 7;
  EXPECT_EQ(parse(config).eos_token_ids, std::vector<int32_t>{7});
  EXPECT_EQ(parse(config, R"({"eos_token_id": [4096, 4098]})").eos_token_ids,
            (std::vector<int32_t>{4096, 4098}));
  // A generation config without eos keeps config.json's.
  EXPECT_EQ(parse(config, R"({"do_sample": false})").eos_token_ids, std::vector<int32_t>{7});
  const std::string message = error_of([&] { parse(config, "{oops"); });
  EXPECT_NE(message.find("/m/generation_config.json: not valid JSON"), std::string::npos)
      << message;
}

TEST(HfConfig, BadFieldsAreNamed) {
  expect_config_error([](json& c) { c.erase("hidden_size"); }, "missing field 'hidden_size'");
  expect_config_error([](json& c) { c["hidden_size"] = "128"; },
                      "field 'hidden_size' must be a positive integer");
  expect_config_error([](json& c) { c["hidden_size"] = 0; }, "found 0");
  expect_config_error([](json& c) { c["hidden_size"] = 128.5; }, "found 128.5");
  expect_config_error([](json& c) { c["vocab_size"] = 1LL << 40; }, "'vocab_size'");
  expect_config_error([](json& c) { c["num_key_value_heads"] = 3; },
                      "num_attention_heads 4 is not a multiple of num_key_value_heads 3");
  expect_config_error([](json& c) { c["hidden_size"] = 130; },
                      "hidden_size 130 is not divisible by num_attention_heads 4");
  expect_config_error([](json& c) { c["head_dim"] = 33; }, "head_dim 33 must be even");
  expect_config_error([](json& c) { c["rms_norm_eps"] = -1e-6; },
                      "field 'rms_norm_eps' must be a positive number");
  expect_config_error([](json& c) { c["rms_norm_eps"] = nullptr; }, "missing field 'rms_norm_eps'");
  expect_config_error([](json& c) { c["rope_theta"] = "big"; },
                      "field 'rope_theta' must be a positive number, found \"big\"");
  expect_config_error([](json& c) { c.erase("rope_theta"); },
                      "missing field 'rope_theta' (at top level or in rope_parameters)");
  expect_config_error([](json& c) { c["model_type"] = "llama"; },
                      "unsupported architecture: model_type 'llama'");
  expect_config_error([](json& c) { c["architectures"] = {"LlamaForCausalLM"}; },
                      "unsupported architecture 'LlamaForCausalLM'");
  expect_config_error([](json& c) { c["hidden_act"] = "gelu"; }, "unsupported hidden_act \"gelu\"");
  expect_config_error([](json& c) { c["use_sliding_window"] = true; },
                      "use_sliding_window is true");
  expect_config_error([](json& c) { c["use_sliding_window"] = "no"; },
                      "'use_sliding_window' must be true or false");
  expect_config_error(
      [](json& c) {
        c["layer_types"] = {"full_attention", "sliding_attention"};
      },
      "layer_types holds \"sliding_attention\"");
  expect_config_error(
      [](json& c) {
        c["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
      },
      "rope_scaling.type \"linear\"");
  expect_config_error(
      [](json& c) {
        c["rope_scaling"] = {{"factor", 2.0}};
      },
      "rope_scaling.factor 2.0");
  expect_config_error([](json& c) { c["rope_scaling"] = 2; }, "rope_scaling 2");
  expect_config_error(
      [](json& c) {
        c["rope_parameters"] = {{"rope_type", "yarn"}, {"rope_theta", 1e6}};
      },
      "rope_parameters.rope_type \"yarn\"");
  expect_config_error([](json& c) { c["tie_word_embeddings"] = 1; },
                      "'tie_word_embeddings' must be true or false");
  expect_config_error([](json& c) { c["eos_token_id"] = -1; }, "'eos_token_id' must hold");
  expect_config_error(
      [](json& c) {
        c["eos_token_id"] = {1, 1LL << 33};
      },
      "'eos_token_id' must hold");
  expect_config_error([](json& c) { c["eos_token_id"] = "x"; },
                      "'eos_token_id' must be an integer or a list of integers");
}

TEST(HfConfig, NotAnObject) {
  EXPECT_NE(error_of([] {
              io::parse_hf_config("[1]", "/m/config.json");
            }).find("/m/config.json: must be a JSON object"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              io::parse_hf_config("", "/m/config.json");
            }).find("/m/config.json: not valid JSON"),
            std::string::npos);
}

TEST(HfConfig, DeeplyNestedValueIsDescribedNotDumped) {
  // Dumping this recursively would overflow the stack; the message only counts entries.
  const std::string nested = std::string(200000, '[') + std::string(200000, ']');
  const std::string text = R"({"model_type": "qwen2", "hidden_size": )" + nested + "}";
  const std::string message = error_of([&] { io::parse_hf_config(text, "/m/config.json"); });
  EXPECT_NE(message.find("must be a positive integer below 2^31, found an array of 1 entries"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace tc
