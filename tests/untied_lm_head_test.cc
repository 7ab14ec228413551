// Sharded checkpoints (the index lists every tensor, byte totals add up) and
// untied output projections (lm_head.weight used instead of the embedding).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "kernels/cpu/matmul.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

uint64_t header_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint8_t length[8];
  in.read(reinterpret_cast<char*>(length), 8);
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | length[i];
  return 8 + value;
}

TEST(ShardedCheckpoint, StoreListsEveryIndexedTensorAndBytesAddUp) {
  const std::string dir = test::fixture_model("tiny-qwen2-l");
  const json index = read_json(dir + "/model.safetensors.index.json");
  const auto store = io::TensorStore::open_model_dir(dir);

  // Exactly the index's tensors, each found in the shard the index names.
  const json& weight_map = index["weight_map"];
  ASSERT_EQ(store.all().size(), weight_map.size());
  std::map<std::string, size_t> shard_data_bytes;
  size_t tensor_bytes = 0;
  for (const auto& [name, shard] : weight_map.items()) {
    const io::TensorInfo* info = store.find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(fs::path(info->file).filename().string(), shard.get<std::string>()) << name;
    EXPECT_EQ(info->nbytes, static_cast<size_t>(info->numel()) * dtype_size(info->dtype)) << name;
    shard_data_bytes[shard.get<std::string>()] += info->nbytes;
    tensor_bytes += info->nbytes;
  }
  EXPECT_EQ(shard_data_bytes.size(), 3u);
  // Every shard is its header plus exactly its tensors' bytes ...
  size_t files_bytes = 0;
  for (const auto& [shard, data_bytes] : shard_data_bytes) {
    const std::string path = dir + "/" + shard;
    EXPECT_EQ(fs::file_size(path), header_bytes(path) + data_bytes) << shard;
    files_bytes += fs::file_size(path);
  }
  EXPECT_EQ(store.bytes_on_disk(), files_bytes);
  // ... and the tensors add up to the index's own total.
  EXPECT_EQ(tensor_bytes, index["metadata"]["total_size"].get<size_t>());
  // Tied: no lm_head; 8 layers of 12 tensors + embedding + final norm.
  EXPECT_EQ(store.find("lm_head.weight"), nullptr);
  EXPECT_EQ(store.all().size(), 8u * 12u + 2u);
}

// tiny-qwen2-s with tie_word_embeddings false and its own lm_head.weight
// (the embedding + 0.01·sin(i), stored in F32).
class UntiedLmHead : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::make_temp_dir();
    dir_ = root_ + "/untied";
    const std::string source = test::fixture_model("tiny-qwen2-s");
    fs::create_directories(dir_);
    for (const char* name : {"generation_config.json", "tokenizer.json", "tokenizer_config.json"}) {
      fs::copy_file(source + "/" + name, dir_ + "/" + name);
    }
    json config = read_json(source + "/config.json");
    config["tie_word_embeddings"] = false;
    std::ofstream(dir_ + "/config.json") << config.dump(2);

    const io::SafetensorsFile weights(source + "/model.safetensors");
    const io::TensorInfo& embed = weights.tensors().at("model.embed_tokens.weight");
    ASSERT_EQ(embed.dtype, DType::kBF16);
    rows_ = embed.shape[0];
    cols_ = embed.shape[1];
    lm_head_.resize(static_cast<size_t>(rows_ * cols_));
    for (size_t i = 0; i < lm_head_.size(); ++i) {
      uint16_t bits;
      std::memcpy(&bits, embed.data + 2 * i, 2);
      lm_head_[i] = bf16_to_f32(bits) + 0.01f * std::sin(static_cast<float>(i));
    }
    std::vector<io::TensorToWrite> tensors;
    for (const auto& [name, info] : weights.tensors()) {
      tensors.push_back({name, info.dtype, info.shape, {info.data, info.nbytes}});
    }
    tensors.push_back(
        {"lm_head.weight",
         DType::kF32,
         {rows_, cols_},
         {reinterpret_cast<const uint8_t*>(lm_head_.data()), lm_head_.size() * sizeof(float)}});
    io::write_safetensors(dir_ + "/model.safetensors", tensors, weights.metadata());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string root_, dir_;
  int64_t rows_ = 0, cols_ = 0;
  std::vector<float> lm_head_;
};

TEST_F(UntiedLmHead, LogitsComeFromLmHeadNotTheEmbedding) {
  model::Qwen2Model untied = model::load_qwen2(dir_);
  ASSERT_FALSE(untied.config().tie_word_embeddings);
  ASSERT_TRUE(untied.weights().lm_head.has_value());

  const std::vector<int32_t> ids = {17, 4095, 3, 300, 1000, 42, 7, 2048, 9, 64};
  const auto n = static_cast<int64_t>(ids.size());
  auto cache = untied.new_cache();
  model::HiddenStates hidden;
  const std::vector<float> logits =
      untied.forward(ids, *cache, model::LogitsFor::kAllTokens, &hidden);
  ASSERT_EQ(logits.size(), static_cast<size_t>(n * rows_));
  ASSERT_FALSE(hidden.empty());
  const std::vector<float>& final_hidden = hidden.back();  // after the final norm
  ASSERT_EQ(final_hidden.size(), static_cast<size_t>(n * cols_));

  // Reference: final hidden · lm_headᵀ with the perturbed matrix, in double.
  weights::WeightMatrix head;
  head.format = weights::WeightFormat::kF32;
  head.rows = rows_;
  head.cols = cols_;
  head.storage.resize(lm_head_.size() * sizeof(float));
  std::memcpy(head.storage.data(), lm_head_.data(), lm_head_.size() * sizeof(float));
  std::vector<float> expected(logits.size());
  kernels::matmul_reference(head, final_hidden.data(), n, expected.data());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    worst = std::max(worst, std::fabs(double(logits[i]) - double(expected[i])));
    scale = std::max(scale, std::fabs(double(expected[i])));
  }
  EXPECT_LT(worst, 1e-4 * std::max(1.0, scale)) << "largest |logit| " << scale;

  // The tied model (same weights, embedding as output) differs clearly.
  model::Qwen2Model tied = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  auto tied_cache = tied.new_cache();
  model::HiddenStates tied_hidden;
  const std::vector<float> tied_logits =
      tied.forward(ids, *tied_cache, model::LogitsFor::kAllTokens, &tied_hidden);
  // Same body: the hidden states before the output projection agree exactly.
  EXPECT_EQ(tied_hidden.back(), final_hidden);
  double largest_change = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    largest_change = std::max(largest_change, std::fabs(double(logits[i]) - tied_logits[i]));
  }
  EXPECT_GT(largest_change, 0.1) << "lm_head.weight seems to be ignored";
  std::printf(
      "untied logits: max |err| vs reference %.3g (largest |logit| %.3g); max change vs "
      "tied %.3g\n",
      worst, scale, largest_change);
}

TEST_F(UntiedLmHead, TiedConfigIgnoresAStoredLmHead) {
  // As in transformers: tie_word_embeddings true uses the embedding even if
  // the file also holds lm_head.weight.
  json config = read_json(dir_ + "/config.json");
  config["tie_word_embeddings"] = true;
  std::ofstream(dir_ + "/config.json") << config.dump(2);
  const model::Qwen2Model model = model::load_qwen2(dir_);
  EXPECT_FALSE(model.weights().lm_head.has_value());
  EXPECT_EQ(&model.lm_head(), &model.weights().embed_tokens);
}

TEST_F(UntiedLmHead, MissingLmHeadIsNamed) {
  const io::SafetensorsFile weights(test::fixture_model("tiny-qwen2-s") + "/model.safetensors");
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, info] : weights.tensors()) {
    tensors.push_back({name, info.dtype, info.shape, {info.data, info.nbytes}});
  }
  io::write_safetensors(dir_ + "/model.safetensors", tensors);
  try {
    model::load_qwen2(dir_);
    FAIL() << "loaded without lm_head.weight";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dir_), std::string::npos) << message;
    EXPECT_NE(message.find("missing tensor 'lm_head.weight'"), std::string::npos) << message;
    EXPECT_NE(message.find("tie_word_embeddings false"), std::string::npos) << message;
  }
}

TEST_F(UntiedLmHead, WrongLmHeadShapeIsNamed) {
  const io::SafetensorsFile weights(test::fixture_model("tiny-qwen2-s") + "/model.safetensors");
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, info] : weights.tensors()) {
    tensors.push_back({name, info.dtype, info.shape, {info.data, info.nbytes}});
  }
  // [vocab - 1, hidden]: a plausible off-by-one.
  tensors.push_back({"lm_head.weight",
                     DType::kF32,
                     {rows_ - 1, cols_},
                     {reinterpret_cast<const uint8_t*>(lm_head_.data()),
                      static_cast<size_t>((rows_ - 1) * cols_) * sizeof(float)}});
  io::write_safetensors(dir_ + "/model.safetensors", tensors);
  try {
    model::load_qwen2(dir_);
    FAIL() << "loaded a mis-shaped lm_head.weight";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'lm_head.weight': shape [4159, 128]"), std::string::npos) << message;
    EXPECT_NE(message.find("expected [4160, 128]"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace tc
