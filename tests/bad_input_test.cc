// Broken model folders: each test copies a fixture, breaks one thing, and
// checks that loading throws a one-line tc::Error naming the file and the
// problem (never a crash, never a message without the file).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "error_of.h"
#include "io/safetensors.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A writable copy of a fixture model in a fresh temporary folder, removed at
// the end of the test (the fixtures themselves are read-only).
class BrokenModel {
 public:
  explicit BrokenModel(const std::string& fixture = "tiny-qwen2-s")
      : root_(test::make_temp_dir()), dir_(root_ + "/model") {
    fs::copy(test::fixture_model(fixture), dir_, fs::copy_options::recursive);
    for (const auto& entry : fs::directory_iterator(dir_)) {
      fs::permissions(entry.path(), fs::perms::owner_write, fs::perm_options::add);
    }
  }
  ~BrokenModel() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& dir() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string root_;
  std::string dir_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void edit_json(const std::string& path, const std::function<void(json&)>& edit) {
  json value = json::parse(read_file(path));
  edit(value);
  write_file(path, value.dump(2));
}

uint64_t header_length(const std::string& bytes) {
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<uint8_t>(bytes[i]);
  return length;
}

// Rewrites a safetensors file's header (the data section is kept as is).
void edit_header(const std::string& path, const std::function<void(json&, size_t)>& edit) {
  const std::string bytes = read_file(path);
  const uint64_t length = header_length(bytes);
  json header = json::parse(bytes.substr(8, length));
  const std::string data = bytes.substr(8 + length);
  edit(header, data.size());
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(text.size() >> (8 * i));
  write_file(path, out + text + data);
}

using test::error_of;

// Loading `dir` fails with a one-line message holding every piece of `expected`.
void expect_load_error(const std::string& dir, const std::vector<std::string>& expected) {
  const std::string message = error_of([&] { model::load_qwen2(dir); });
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  for (const auto& piece : expected) {
    EXPECT_NE(message.find(piece), std::string::npos)
        << "message lacks '" << piece << "': " << message;
  }
}

TEST(BadInput, MissingFolder) {
  BrokenModel model;
  const std::string missing = model.dir() + "/does-not-exist";
  expect_load_error(missing, {missing, "no such model folder"});
}

TEST(BadInput, MissingConfig) {
  BrokenModel model;
  fs::remove(model.file("config.json"));
  expect_load_error(model.dir(), {model.dir(), "missing config.json"});
}

TEST(BadInput, ConfigNotJson) {
  BrokenModel model;
  write_file(model.file("config.json"), "{\"model_type\": \"qwen2\",");
  expect_load_error(model.dir(), {model.file("config.json"), "not valid JSON"});
}

TEST(BadInput, MissingSafetensors) {
  BrokenModel model;
  fs::remove(model.file("model.safetensors"));
  expect_load_error(model.dir(), {model.dir(), "missing model.safetensors"});
}

TEST(BadInput, TruncatedInDataSection) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  fs::resize_file(path, fs::file_size(path) - 1000);
  expect_load_error(model.dir(), {path, "out of range", "truncated"});
}

TEST(BadInput, TruncatedInsideHeader) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  const uint64_t length = header_length(read_file(path));
  fs::resize_file(path, 8 + length / 2);
  expect_load_error(model.dir(), {path, "header length", "runs past the end", "truncated"});
  fs::resize_file(path, 5);
  expect_load_error(model.dir(), {path, "shorter than the 8-byte header length"});
}

TEST(BadInput, HeaderLengthPastEndOfFile) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  std::string bytes = read_file(path);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(0xFF);
  write_file(path, bytes);
  expect_load_error(model.dir(), {path, "header length 18446744073709551615 runs past the end"});
}

TEST(BadInput, MalformedHeaderJson) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  std::string bytes = read_file(path);
  ASSERT_EQ(bytes[8], '{');
  bytes[8] = '#';
  write_file(path, bytes);
  expect_load_error(model.dir(), {path, "header is not valid JSON"});
}

TEST(BadInput, DataOffsetsOutOfRange) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  edit_header(path, [](json& header, size_t data_size) {
    auto& offsets = header["model.norm.weight"]["data_offsets"];
    offsets[1] = data_size + 256;
  });
  expect_load_error(model.dir(), {path, "'model.norm.weight'", "out of range"});
}

TEST(BadInput, ByteCountDoesNotMatchShape) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  edit_header(path, [](json& header, size_t) { header["model.norm.weight"]["shape"] = {100}; });
  expect_load_error(model.dir(), {path, "'model.norm.weight'", "byte count does not match",
                                  "needs 200 bytes", "span 256"});
}

TEST(BadInput, OverlappingTensors) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  edit_header(path, [](json& header, size_t) {
    header["model.layers.1.input_layernorm.weight"]["data_offsets"] =
        header["model.layers.0.input_layernorm.weight"]["data_offsets"];
  });
  expect_load_error(model.dir(), {path, "overlap"});
}

TEST(BadInput, UnsupportedDtypeI8) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  edit_header(path, [](json& header, size_t) {
    header["model.norm.weight"]["dtype"] = "I8";
    header["model.norm.weight"]["shape"] = {256};
  });
  expect_load_error(model.dir(), {path, "'model.norm.weight'", "unsupported dtype I8"});
}

TEST(BadInput, F64IsParsedButRefusedForWeights) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  edit_header(path, [](json& header, size_t) {
    header["model.layers.2.post_attention_layernorm.weight"]["dtype"] = "F64";
    header["model.layers.2.post_attention_layernorm.weight"]["shape"] = {32};
  });
  // The file itself is valid: the parser accepts F64 ...
  const auto store = io::TensorStore::open_model_dir(model.dir());
  EXPECT_EQ(store.get("model.layers.2.post_attention_layernorm.weight").dtype, DType::kF64);
  // ... the loader does not.
  expect_load_error(model.dir(), {path, "'model.layers.2.post_attention_layernorm.weight'",
                                  "unsupported dtype F64"});
}

TEST(BadInput, UnknownDtypeName) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  edit_header(path, [](json& header, size_t) { header["model.norm.weight"]["dtype"] = "Q4_K"; });
  expect_load_error(model.dir(), {path, "'model.norm.weight'", "unsupported dtype \"Q4_K\""});
}

TEST(BadInput, WrongShapeNamesTensorAndBothShapes) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  edit_header(path, [](json& header, size_t) {
    header["model.layers.0.self_attn.q_proj.weight"]["shape"] = {64, 256};
  });
  expect_load_error(model.dir(), {path, "'model.layers.0.self_attn.q_proj.weight'",
                                  "shape [64, 256]", "expected [128, 128]"});
}

TEST(BadInput, MissingTensor) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  const std::string dropped = "model.layers.1.mlp.up_proj.weight";
  {
    const io::SafetensorsFile file(test::fixture_model("tiny-qwen2-s") + "/model.safetensors");
    std::vector<io::TensorToWrite> kept;
    for (const auto& [name, info] : file.tensors()) {
      if (name != dropped) kept.push_back({name, info.dtype, info.shape, {info.data, info.nbytes}});
    }
    io::write_safetensors(path, kept, file.metadata());
  }
  expect_load_error(model.dir(), {path, "missing tensor '" + dropped + "'"});
}

class ConfigMissingField : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigMissingField, IsNamed) {
  BrokenModel model;
  const std::string field = GetParam();
  edit_json(model.file("config.json"), [&](json& config) { config.erase(field); });
  expect_load_error(model.dir(), {model.file("config.json"), "missing field '" + field + "'"});
}

INSTANTIATE_TEST_SUITE_P(Fields, ConfigMissingField,
                         ::testing::Values("hidden_size", "intermediate_size", "num_hidden_layers",
                                           "num_attention_heads", "vocab_size", "rms_norm_eps",
                                           "rope_theta", "model_type"));

TEST(BadInput, UnsupportedModelType) {
  BrokenModel model;
  edit_json(model.file("config.json"), [](json& config) { config["model_type"] = "llama"; });
  expect_load_error(model.dir(),
                    {model.file("config.json"), "unsupported architecture", "'llama'"});
}

TEST(BadInput, SlidingWindowRefused) {
  BrokenModel model;
  edit_json(model.file("config.json"), [](json& config) { config["use_sliding_window"] = true; });
  expect_load_error(model.dir(), {model.file("config.json"), "use_sliding_window is true"});
}

TEST(BadInput, RopeScalingRefused) {
  BrokenModel model;
  edit_json(model.file("config.json"), [](json& config) {
    config["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}};
  });
  expect_load_error(model.dir(), {model.file("config.json"), "unsupported feature: rope_scaling"});
}

TEST(BadInput, TieWordEmbeddingsMustBeBoolean) {
  BrokenModel model;
  edit_json(model.file("config.json"), [](json& config) { config["tie_word_embeddings"] = "yes"; });
  expect_load_error(model.dir(), {model.file("config.json"), "'tie_word_embeddings'"});
}

TEST(BadInput, UntiedWithoutLmHead) {
  BrokenModel model;
  edit_json(model.file("config.json"), [](json& config) { config["tie_word_embeddings"] = false; });
  expect_load_error(model.dir(), {model.dir(), "'lm_head.weight'", "tie_word_embeddings false"});
}

// transformers 5 writes rope_theta inside rope_parameters only: that must
// load and compute exactly what the top-level field computes.
TEST(BadInput, RopeThetaInsideRopeParametersLoads) {
  BrokenModel model;
  edit_json(model.file("config.json"), [](json& config) {
    config["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", config["rope_theta"]}};
    config.erase("rope_theta");
  });
  model::Qwen2Model moved = model::load_qwen2(model.dir());
  model::Qwen2Model original = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  EXPECT_EQ(moved.config().rope_theta, 1e6);
  // Long enough that positions far apart rotate visibly differently.
  std::vector<int32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back((i * 97 + 5) % 4096);
  auto cache_a = moved.new_cache();
  auto cache_b = original.new_cache();
  const auto a = moved.forward(ids, *cache_a, model::LogitsFor::kAllTokens);
  const auto b = original.forward(ids, *cache_b, model::LogitsFor::kAllTokens);
  ASSERT_EQ(a.size(), ids.size() * 4160);
  EXPECT_EQ(a, b);
}

TEST(BadInput, ShardedIndexPointsAtMissingShard) {
  BrokenModel model("tiny-qwen2-l");
  const std::string shard = "model-00002-of-00003.safetensors";
  fs::remove(model.file(shard));
  expect_load_error(model.dir(),
                    {model.file("model.safetensors.index.json"), model.file(shard), "missing"});
}

TEST(BadInput, ShardedIndexNamesWrongShard) {
  BrokenModel model("tiny-qwen2-l");
  edit_json(model.file("model.safetensors.index.json"), [](json& index) {
    ASSERT_EQ(index["weight_map"]["model.norm.weight"], "model-00003-of-00003.safetensors");
    index["weight_map"]["model.norm.weight"] = "model-00001-of-00003.safetensors";
  });
  expect_load_error(model.dir(), {model.file("model.safetensors.index.json"), "'model.norm.weight'",
                                  "model-00001-of-00003.safetensors", "not there"});
}

TEST(BadInput, ShardedIndexTensorMissing) {
  BrokenModel model("tiny-qwen2-l");
  edit_json(model.file("model.safetensors.index.json"),
            [](json& index) { index["weight_map"].erase("model.layers.3.mlp.down_proj.weight"); });
  expect_load_error(model.dir(), {model.file("model.safetensors.index.json"),
                                  "missing tensor 'model.layers.3.mlp.down_proj.weight'"});
}

// The command line turns the same errors into one "error: ..." line on
// stderr and a non-zero exit.
struct CommandResult {
  int exit_code = -1;
  std::string stderr_text;
};

CommandResult run_command(const std::string& arguments) {
  const std::string root = test::make_temp_dir();
  const std::string command =
      test::tinycompress_bin() + " " + arguments + " >" + root + "/out.txt 2>" + root + "/err.txt";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.stderr_text = read_file(root + "/err.txt");
  fs::remove_all(root);
  return result;
}

void expect_one_error_line(const CommandResult& result, const std::vector<std::string>& expected) {
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.exit_code, -1) << "killed by a signal";
  const std::string& text = result.stderr_text;
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.rfind("error: ", 0), 0u) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "not exactly one line: " << text;
  for (const auto& piece : expected) {
    EXPECT_NE(text.find(piece), std::string::npos) << "stderr lacks '" << piece << "': " << text;
  }
}

TEST(BadInputCommand, GenerateWithTruncatedWeights) {
  BrokenModel model;
  const std::string path = model.file("model.safetensors");
  fs::resize_file(path, fs::file_size(path) / 2);
  expect_one_error_line(run_command("generate --model " + model.dir() + " --prompt hi"),
                        {path, "truncated"});
}

TEST(BadInputCommand, GenerateWithoutConfig) {
  BrokenModel model;
  fs::remove(model.file("config.json"));
  expect_one_error_line(run_command("generate --model " + model.dir() + " --prompt hi"),
                        {model.dir(), "missing config.json"});
}

TEST(BadInputCommand, LogitsWithWrongShape) {
  BrokenModel model;
  edit_header(model.file("model.safetensors"), [](json& header, size_t) {
    header["model.layers.0.mlp.up_proj.weight"]["shape"] = {128, 512};
  });
  expect_one_error_line(run_command("logits --model " + model.dir() + " --ids 1,2"),
                        {model.file("model.safetensors"), "'model.layers.0.mlp.up_proj.weight'",
                         "expected [512, 128]"});
}

TEST(BadInputCommand, MissingModelFolder) {
  BrokenModel model;
  const std::string missing = model.dir() + "/nothing-here";
  expect_one_error_line(run_command("generate --model " + missing + " --prompt hi"),
                        {missing, "no such model folder"});
}

}  // namespace
}  // namespace tc
