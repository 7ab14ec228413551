// Random checkpoints (init-random): a tiny one loads and runs, the same seed
// gives the same bytes, the weights have the promised statistics, the
// synthetic tokenizer has Qwen2's structure and works with our tokenizer,
// and the real presets have Qwen2.5's shapes.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/loader.h"
#include "model/random_checkpoint.h"
#include "test_paths.h"
#include "tokenizer/synthetic_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace tc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kFiles[] = {"config.json", "generation_config.json", "model.safetensors",
                              "tokenizer.json", "tokenizer_config.json"};

class TempDir {
 public:
  TempDir() : path_(test::make_temp_dir()) {}
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json read_json(const std::string& path) { return json::parse(read_file(path)); }

model::RandomCheckpointSpec tiny(uint64_t seed) {
  model::RandomCheckpointSpec spec = model::random_checkpoint_preset("tiny");
  spec.seed = seed;
  return spec;
}

struct Stats {
  double mean = 0, std = 0, max_abs = 0;
};

Stats bf16_stats(const io::TensorInfo& info) {
  EXPECT_EQ(info.dtype, DType::kBF16) << info.name;
  const auto n = static_cast<size_t>(info.numel());
  double sum = 0, squares = 0, max_abs = 0;
  for (size_t i = 0; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, info.data + 2 * i, 2);
    const double value = bf16_to_f32(bits);
    sum += value;
    squares += value * value;
    max_abs = std::max(max_abs, std::fabs(value));
  }
  const double mean = sum / static_cast<double>(n);
  return {mean, std::sqrt(squares / static_cast<double>(n) - mean * mean), max_abs};
}

TEST(InitRandom, TinyCheckpointLoadsAndRuns) {
  TempDir temp;
  const std::string dir = temp.sub("tiny");
  const model::RandomCheckpointInfo info = model::write_random_checkpoint(dir, tiny(7));
  for (const char* name : kFiles) EXPECT_TRUE(fs::is_regular_file(dir + "/" + name)) << name;
  EXPECT_EQ(info.safetensors_bytes, fs::file_size(dir + "/model.safetensors"));
  // embed 512x64 + 2 layers x (q,k,v,o,gate,up,down, biases, norms) + final norm.
  const int64_t per_layer = 64 * 64 + 64 + 2 * (32 * 64 + 32) + 64 * 64 + 3 * 128 * 64 + 2 * 64;
  EXPECT_EQ(info.parameters, 512 * 64 + 2 * per_layer + 64);

  model::Qwen2Model model = model::load_qwen2(dir);
  EXPECT_EQ(model.config().hidden_size, 64);
  EXPECT_EQ(model.config().num_layers, 2);
  EXPECT_EQ(model.config().vocab_size, 512);
  EXPECT_EQ(model.config().eos_token_ids, std::vector<int32_t>{490});
  EXPECT_TRUE(model.config().tie_word_embeddings);
  EXPECT_EQ(model.config().rope_theta, 1e6);

  const std::vector<int32_t> ids = {1, 2, 3, 100, 489, 490, 511};
  auto cache = model.new_cache();
  const std::vector<float> logits = model.forward(ids, *cache, model::LogitsFor::kAllTokens);
  ASSERT_EQ(logits.size(), ids.size() * 512);
  double spread = 0;
  for (const float value : logits) {
    ASSERT_TRUE(std::isfinite(value));
    spread = std::max(spread, std::fabs(double(value) - logits[0]));
  }
  EXPECT_GT(spread, 1e-3) << "logits are all the same: weights look constant";
}

TEST(InitRandom, WeightsHaveThePromisedStatistics) {
  TempDir temp;
  const std::string dir = temp.sub("tiny");
  model::write_random_checkpoint(dir, tiny(3));
  const io::SafetensorsFile file(dir + "/model.safetensors");
  EXPECT_EQ(file.metadata().at("seed"), "3");
  EXPECT_EQ(file.metadata().at("format"), "pt");
  ASSERT_EQ(file.tensors().size(), 2u * 12u + 2u);
  for (const auto& [name, info] : file.tensors()) {
    const Stats stats = bf16_stats(info);
    if (name.ends_with("norm.weight")) {
      EXPECT_EQ(stats.mean, 1.0) << name;
      EXPECT_EQ(stats.std, 0.0) << name;
    } else {
      const double want = name.ends_with(".bias") ? 0.01 : 0.02;
      // Small tensors (biases of 32) get a looser bound.
      const double tolerance = info.numel() >= 4096 ? 0.05 : 0.35;
      EXPECT_NEAR(stats.std, want, tolerance * want) << name;
      // Four standard errors of the mean.
      EXPECT_LT(std::fabs(stats.mean), 4 * want / std::sqrt(double(info.numel()))) << name;
      EXPECT_LE(stats.max_abs, 3.47 * want * 1.01) << name;  // four-uniform sum is bounded
    }
  }
}

TEST(InitRandom, SameSeedSameBytesOtherSeedOtherWeights) {
  TempDir temp;
  model::write_random_checkpoint(temp.sub("a"), tiny(11));
  model::write_random_checkpoint(temp.sub("b"), tiny(11));
  model::write_random_checkpoint(temp.sub("c"), tiny(12));
  for (const char* name : kFiles) {
    const std::string a = read_file(temp.sub("a") + "/" + name);
    ASSERT_FALSE(a.empty()) << name;
    EXPECT_EQ(a, read_file(temp.sub("b") + "/" + name)) << name;
  }
  EXPECT_NE(read_file(temp.sub("a") + "/model.safetensors"),
            read_file(temp.sub("c") + "/model.safetensors"));
  // The tokenizer does not depend on the weights' seed.
  EXPECT_EQ(read_file(temp.sub("a") + "/tokenizer.json"),
            read_file(temp.sub("c") + "/tokenizer.json"));
}

TEST(InitRandom, UntiedSpecWritesLmHead) {
  TempDir temp;
  model::RandomCheckpointSpec spec = tiny(5);
  spec.config.tie_word_embeddings = false;
  model::write_random_checkpoint(temp.sub("untied"), spec);
  const model::Qwen2Model model = model::load_qwen2(temp.sub("untied"));
  ASSERT_TRUE(model.weights().lm_head.has_value());
  EXPECT_EQ(model.weights().lm_head->rows, 512);
}

TEST(InitRandom, InconsistentSpecsAreRefused) {
  TempDir temp;
  model::RandomCheckpointSpec spec = tiny(1);
  spec.config.vocab_size = 500;  // the tokenizer has 512 tokens
  EXPECT_THROW(model::write_random_checkpoint(temp.sub("x"), spec), Error);
  spec = tiny(1);
  spec.config.eos_token_ids = {0};
  EXPECT_THROW(model::write_random_checkpoint(temp.sub("x"), spec), Error);
  spec = tiny(1);
  spec.config.num_kv_heads = 3;  // 4 heads are not a multiple of 3
  EXPECT_THROW(model::write_random_checkpoint(temp.sub("x"), spec), Error);
  EXPECT_FALSE(fs::exists(temp.sub("x")));
  try {
    model::random_checkpoint_preset("qwen2.5-7b");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qwen2.5-0.5b, qwen2.5-1.5b, qwen2.5-3b"),
              std::string::npos)
        << e.what();
  }
}

TEST(InitRandom, PresetsHaveQwen25Shapes) {
  struct Expected {
    const char* like;
    int64_t hidden, intermediate, layers, heads, kv_heads, parameters;
  };
  // Parameter counts of the real Qwen2.5 checkpoints (tied embeddings).
  for (const Expected& want : {Expected{"qwen2.5-0.5b", 896, 4864, 24, 14, 2, 494032768},
                               Expected{"qwen2.5-1.5b", 1536, 8960, 28, 12, 2, 1543714304},
                               Expected{"qwen2.5-3b", 2048, 11008, 36, 16, 2, 3085938688}}) {
    const model::RandomCheckpointSpec spec = model::random_checkpoint_preset(want.like);
    const model::ModelConfig& c = spec.config;
    EXPECT_EQ(c.hidden_size, want.hidden) << want.like;
    EXPECT_EQ(c.intermediate_size, want.intermediate) << want.like;
    EXPECT_EQ(c.num_layers, want.layers) << want.like;
    EXPECT_EQ(c.num_heads, want.heads) << want.like;
    EXPECT_EQ(c.num_kv_heads, want.kv_heads) << want.like;
    EXPECT_EQ(c.vocab_size, 151936) << want.like;
    EXPECT_TRUE(c.tie_word_embeddings) << want.like;
    EXPECT_EQ(c.rope_theta, 1e6) << want.like;
    EXPECT_EQ(c.rms_norm_eps, 1e-6) << want.like;
    EXPECT_EQ(c.max_position_embeddings, 32768) << want.like;
    EXPECT_EQ(c.eos_token_ids, std::vector<int32_t>{151643}) << want.like;
    EXPECT_EQ(spec.tokenizer_learned_tokens, 151643) << want.like;
    int64_t parameters = 0;
    for (const auto& tensor : model::qwen2_tensor_specs(c, DType::kBF16)) {
      int64_t count = 1;
      for (const int64_t dim : tensor.shape) count *= dim;
      parameters += count;
    }
    EXPECT_EQ(parameters, want.parameters) << want.like;
  }
}

TEST(InitRandom, ConfigFilesMatchQwen25) {
  TempDir temp;
  model::write_random_checkpoint(temp.sub("m"), tiny(1));
  const json config = read_json(temp.sub("m") + "/config.json");
  EXPECT_EQ(config["model_type"], "qwen2");
  EXPECT_EQ(config["architectures"], json::array({"Qwen2ForCausalLM"}));
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  EXPECT_EQ(config["use_sliding_window"], false);
  EXPECT_EQ(config["hidden_act"], "silu");
  EXPECT_EQ(config["eos_token_id"], 490);
  EXPECT_EQ(config["bos_token_id"], 490);
  EXPECT_EQ(config["tie_word_embeddings"], true);
  EXPECT_EQ(config["rms_norm_eps"], 1e-6);
  EXPECT_EQ(config["rope_theta"], 1e6);
  const json generation = read_json(temp.sub("m") + "/generation_config.json");
  EXPECT_EQ(generation["eos_token_id"], 490);
  EXPECT_EQ(generation["do_sample"], false);
}

// Everything but the vocabulary, merges and added-token ids is exactly the
// fixture tokenizer's (which is Qwen2's structure).
TEST(SyntheticTokenizer, HasQwen2Structure) {
  tokenizer::SyntheticTokenizerOptions options;
  options.learned_tokens = 2000;
  const json synthetic = json::parse(tokenizer::synthetic_tokenizer_json_text(options));
  const json fixture = read_json(test::shared_dir() + "/fixtures/tokenizer/tokenizer.json");
  for (const char* key : {"version", "truncation", "padding", "normalizer", "pre_tokenizer",
                          "post_processor", "decoder"}) {
    EXPECT_EQ(synthetic[key], fixture[key]) << key;
  }
  EXPECT_EQ(fixture["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"],
            std::string(tokenizer::qwen2_split_regex()));
  for (const auto& [key, value] : fixture["model"].items()) {
    if (key != "vocab" && key != "merges") {
      EXPECT_EQ(synthetic["model"][key], value) << key;
    }
  }
  // Fields of each added token are those of the fixture's.
  for (const auto& [key, value] : fixture["added_tokens"][0].items()) {
    EXPECT_TRUE(synthetic["added_tokens"][0].contains(key)) << key;
  }
  // The first 256 ids are the byte alphabet in the fixture's order.
  const json& vocab = synthetic["model"]["vocab"];
  ASSERT_EQ(vocab.size(), 2000u);
  for (const auto& [token, id] : fixture["model"]["vocab"].items()) {
    if (id.get<int>() < 256) {
      EXPECT_EQ(vocab.at(token), id) << token;
    }
  }
}

TEST(SyntheticTokenizer, MergesAreAValidBpeAndAddedTokensFollow) {
  tokenizer::SyntheticTokenizerOptions options;
  options.learned_tokens = 5000;
  const json tokenizer_json = json::parse(tokenizer::synthetic_tokenizer_json_text(options));
  const json& vocab = tokenizer_json["model"]["vocab"];
  const json& merges = tokenizer_json["model"]["merges"];
  ASSERT_EQ(vocab.size(), 5000u);
  ASSERT_EQ(merges.size(), 5000u - 256u);
  std::set<int> ids;
  for (const auto& [token, id] : vocab.items()) ids.insert(id.get<int>());
  EXPECT_EQ(ids.size(), 5000u);
  EXPECT_EQ(*ids.begin(), 0);
  EXPECT_EQ(*ids.rbegin(), 4999);
  // Merge r joins two earlier tokens into token 256 + r.
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string left = merges[rank][0], right = merges[rank][1];
    const int made = vocab.at(left + right);
    ASSERT_EQ(made, static_cast<int>(256 + rank)) << left << " + " << right;
    ASSERT_LT(vocab.at(left).get<int>(), made);
    ASSERT_LT(vocab.at(right).get<int>(), made);
  }
  const json& added = tokenizer_json["added_tokens"];
  ASSERT_EQ(added.size(), 22u);
  for (size_t i = 0; i < added.size(); ++i) EXPECT_EQ(added[i]["id"], 5000 + i);
  EXPECT_EQ(added[0]["content"], "<|endoftext|>");
  EXPECT_EQ(added[1]["content"], "<|im_start|>");
  EXPECT_EQ(added[2]["content"], "<|im_end|>");
  EXPECT_EQ(added[0]["special"], true);
  EXPECT_EQ(added[14]["content"], "<tool_call>");
  EXPECT_EQ(added[14]["special"], false);

  const json config = json::parse(tokenizer::synthetic_tokenizer_config_text(options));
  EXPECT_EQ(config["tokenizer_class"], "Qwen2Tokenizer");
  EXPECT_EQ(config["eos_token"], "<|endoftext|>");
  EXPECT_EQ(config["added_tokens_decoder"].size(), 22u);
  EXPECT_EQ(config["added_tokens_decoder"]["5001"]["content"], "<|im_start|>");
}

TEST(SyntheticTokenizer, QwenSizeIsDeterministic) {
  const tokenizer::SyntheticTokenizerOptions options;  // 151643 learned tokens
  const std::string a = tokenizer::synthetic_tokenizer_json_text(options);
  EXPECT_EQ(a, tokenizer::synthetic_tokenizer_json_text(options));
  const json parsed = json::parse(a);
  EXPECT_EQ(parsed["model"]["vocab"].size(), 151643u);
  EXPECT_EQ(parsed["model"]["merges"].size(), 151387u);
  EXPECT_EQ(parsed["added_tokens"][0]["id"], 151643);
  EXPECT_EQ(parsed["added_tokens"][21]["id"], 151664);
}

TEST(SyntheticTokenizer, WorksWithOurTokenizer) {
  TempDir temp;
  const std::string dir = temp.sub("tok");
  fs::create_directories(dir);
  tokenizer::SyntheticTokenizerOptions options;
  options.learned_tokens = 20000;
  tokenizer::write_synthetic_tokenizer(dir, options);
  const auto tok = tokenizer::Tokenizer::from_file(dir + "/tokenizer.json");
  EXPECT_EQ(tok.vocab_size(), 20022u);
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 20000);
  EXPECT_EQ(tok.token_to_id("<|im_start|>"), 20001);
  const std::string text =
      "Hello world, the quick brown fox!\n\n  Привет, мир. 你好世界 こんにちは 안녕 "
      "café\t<|im_end|>";
  const std::vector<int32_t> ids = tok.encode(text);
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(ids.back(), 20002);
  // Merges shorten the text: fewer ids than bytes.
  EXPECT_LT(ids.size(), text.size() * 3 / 4);
}

// The command line: init-random writes a folder that the other commands load.
TEST(InitRandomCommand, WritesALoadableFolder) {
  TempDir temp;
  const std::string dir = temp.sub("cli");
  const std::string command = test::tinycompress_bin() + " init-random --like tiny --out " + dir +
                              " --seed 9 2>" + temp.sub("err.txt");
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(temp.sub("err.txt"));
  EXPECT_NE(read_file(temp.sub("err.txt")).find("100%"), std::string::npos);
  const model::Qwen2Model model = model::load_qwen2(dir);
  EXPECT_EQ(model.config().hidden_size, 64);
  // Same seed through the library: same bytes.
  model::write_random_checkpoint(temp.sub("lib"), tiny(9));
  EXPECT_EQ(read_file(dir + "/model.safetensors"),
            read_file(temp.sub("lib") + "/model.safetensors"));

  const std::string bad = test::tinycompress_bin() + " init-random --like qwen9 --out " +
                          temp.sub("bad") + " 2>" + temp.sub("err2.txt");
  const int bad_status = std::system(bad.c_str());
  EXPECT_TRUE(WIFEXITED(bad_status) && WEXITSTATUS(bad_status) != 0);
  EXPECT_EQ(read_file(temp.sub("err2.txt")).rfind("error: unknown --like 'qwen9'", 0), 0u)
      << read_file(temp.sub("err2.txt"));
}

}  // namespace
}  // namespace tc
