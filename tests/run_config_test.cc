// run_config.toml parsing: defaults, per-model overrides, and clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "harness/methods.h"
#include "harness/run_config.h"
#include "test_paths.h"

namespace tc::harness {
namespace {

std::string write_config(const std::string& text) {
  const std::string path = test::make_temp_dir() + "/run_config.toml";
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& text) {
  try {
    load_run_config(write_config(text));
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

constexpr const char* kMinimal = R"(
[harness]
n_iters = 7
[data]
eval = ["data/kdoc"]
[methods]
default = ["fp32_cpu"]
[[models]]
name = "a"
path = "models/a"
draft = "b"
seq_len_for_latency = 64
[models.harness]
ppl_stride = 64
[[models]]
name = "b"
hf_id = "Org/Name"
default = false
)";

TEST(RunConfig, TheBundledConfigLoadsWithTheFixtureFamily) {
  const RunConfig config = load_run_config(std::string(TC_SOURCE_DIR) + "/run_config.toml");
  ASSERT_GE(config.models.size(), 3u);
  EXPECT_EQ(config.model("tiny-qwen2-s").settings.seq_len_for_latency, 128);
  EXPECT_EQ(config.model("tiny-qwen2-m").settings.seq_len_for_latency, 128);
  EXPECT_EQ(config.model("tiny-qwen2-l").settings.seq_len_for_latency, 64);
  EXPECT_EQ(config.model("qwen2.5-3b").settings.seq_len_for_latency, 64);
  EXPECT_FALSE(config.model("qwen2.5-0.5b").in_default_run);
  EXPECT_EQ(config.model("qwen2.5-0.5b").path, "Qwen/Qwen2.5-0.5B");
  EXPECT_TRUE(std::filesystem::is_directory(config.model("tiny-qwen2-s").path));
  EXPECT_EQ(config.eval_split, "test");
  EXPECT_EQ(config.calibration_split, "train");
  // Each target names its draft; drafts have none.
  EXPECT_EQ(config.model("tiny-qwen2-s").draft, "");
  EXPECT_EQ(config.model("tiny-qwen2-m").draft, "tiny-qwen2-s");
  EXPECT_EQ(config.model("tiny-qwen2-l").draft, "tiny-qwen2-s");
  EXPECT_EQ(config.model("qwen2.5-0.5b").draft, "");
  EXPECT_EQ(config.model("qwen2.5-1.5b").draft, "qwen2.5-0.5b");
  EXPECT_EQ(config.model("qwen2.5-3b").draft, "qwen2.5-0.5b");
  for (const auto& name : config.default_methods) EXPECT_NO_THROW(find_method(name)) << name;
}

TEST(RunConfig, OverridesApplyPerModelAndPathsResolveAgainstTheFile) {
  const std::string path = write_config(kMinimal);
  const RunConfig config = load_run_config(path);
  const std::string base = std::filesystem::path(path).parent_path().string();
  EXPECT_EQ(config.model("a").settings.n_iters, 7);  // inherited
  EXPECT_EQ(config.model("a").settings.seq_len_for_latency, 64);
  EXPECT_EQ(config.model("a").settings.ppl_stride, 64);       // [models.harness]
  EXPECT_EQ(config.model("a").settings.ppl_max_length, 256);  // default
  EXPECT_EQ(config.model("a").path, base + "/models/a");
  EXPECT_EQ(config.model("a").draft, "b");  // a model named further down
  EXPECT_EQ(config.model("b").draft, "");
  EXPECT_EQ(config.model("b").path, "Org/Name");  // a hub id stays an id
  EXPECT_FALSE(config.model("b").in_default_run);
  EXPECT_EQ(config.eval_candidates.at(0), base + "/data/kdoc");
  EXPECT_THROW(config.model("c"), Error);
}

TEST(RunConfig, KvProbeLadderDefaultsAndOverrides) {
  const RunConfig bundled = load_run_config(std::string(TC_SOURCE_DIR) + "/run_config.toml");
  EXPECT_EQ(bundled.model("tiny-qwen2-m").settings.kv_probe_ladder,
            (std::vector<int64_t>{128, 256, 512, 1024, 2048, 4096}));
  std::string text = kMinimal;
  text.replace(text.find("ppl_stride = 64"), 15, "kv_probe_ladder = [64, 96]");
  const RunConfig config = load_run_config(write_config(text));
  EXPECT_EQ(config.model("a").settings.kv_probe_ladder, (std::vector<int64_t>{64, 96}));
  EXPECT_EQ(config.model("b").settings.kv_probe_ladder,
            (std::vector<int64_t>{128, 256, 512, 1024, 2048, 4096}))
      << "the default where nothing overrides it";
  for (const char* bad : {"[]", "[64, 64]", "[128, 64]", "[0, 8]", "[\"x\"]", "8"}) {
    text = kMinimal;
    text.replace(text.find("ppl_stride = 64"), 15, std::string("kv_probe_ladder = ") + bad);
    EXPECT_NE(error_of(text).find("'kv_probe_ladder' must be a non-empty array of increasing "
                                  "integers >= 1"),
              std::string::npos)
        << bad << ": " << error_of(text);
  }
}

TEST(RunConfig, BadFilesGiveErrorsNamingTheKey) {
  EXPECT_NE(error_of("[harness\n").find("run_config.toml:"), std::string::npos);
  EXPECT_NE(
      error_of("[data]\neval=[\"x\"]\n[methods]\ndefault=[\"fp32_cpu\"]\n").find("no [[models]]"),
      std::string::npos);
  std::string text = kMinimal;
  text.replace(text.find("n_iters = 7"), 11, "n_iters = 0");
  EXPECT_NE(error_of(text).find("'n_iters' must be an integer >= 1"), std::string::npos);
  text = kMinimal;
  text.replace(text.find("path = \"models/a\""), 17, "");
  EXPECT_NE(error_of(text).find("exactly one of 'path'"), std::string::npos);
  text = std::string("[data]\neval=[\"x\"]\ncalibration_split=\"test\"\n") +
         text.substr(text.find("[methods]"));
  EXPECT_NE(error_of(text).find("calibration_split must be 'train'"), std::string::npos);
  text = kMinimal;
  text.replace(text.find("ppl_stride = 64"), 15, "ppl_stride = 512");
  EXPECT_NE(error_of(text).find("must not exceed ppl_max_length"), std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[[models]]\nname = \"a\"\npath = \"x\"\n")
                .find("appears twice"),
            std::string::npos);
  text = kMinimal;
  text.replace(text.find("name = \"b\""), 10, "name = \"b\"\ndraft = \"c\"");
  EXPECT_NE(error_of(text).find("model 'b': 'draft' names 'c', which is no model of this file"),
            std::string::npos)
      << error_of(text);
  text = kMinimal;
  text.replace(text.find("name = \"b\""), 10, "name = \"b\"\ndraft = \"b\"");
  EXPECT_NE(error_of(text).find("model 'b': 'draft' names the model itself"), std::string::npos);
  try {
    load_run_config("/nonexistent/run_config.toml");
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent/run_config.toml"), std::string::npos);
  }
}

}  // namespace
}  // namespace tc::harness
