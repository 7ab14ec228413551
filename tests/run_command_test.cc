// `tinycompress run` end to end on a small workspace: results are complete
// JSON files or absent, a killed run leaves no partial file, and the next run
// resumes where it stopped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_paths.h"

extern char** environ;

namespace tc {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// A workspace with a small evaluation text, one prompt and a config for tiny-qwen2-s.
std::string make_workspace(size_t eval_bytes) {
  const fs::path dir = test::make_temp_dir();
  const std::string test_text = read_file(test::shared_dir() + "/data/kdoc/test.txt");
  fs::create_directories(dir / "data");
  std::ofstream(dir / "data/train.txt") << test_text.substr(0, 1000);
  std::ofstream(dir / "data/valid.txt") << test_text.substr(0, 1000);
  std::ofstream(dir / "data/test.txt") << test_text.substr(0, eval_bytes);
  std::ofstream(dir / "prompts.txt") << "The kernel\n";
  std::ofstream(dir / "run_config.toml")
      << "[harness]\nn_warmup = 1\nn_iters = 2\nmax_new_tokens = 4\nprompts = \"prompts.txt\"\n"
      << "results = \"results\"\nthreads = 1\n"
      << "[data]\neval = [\"data\"]\n[methods]\ndefault = [\"fp32_cpu\", \"bf16_cpu\", "
         "\"fp16_cpu\"]\n"
      << "[[models]]\nname = \"s\"\npath = \"" << TC_SOURCE_DIR << "/models/tiny-qwen2-s\"\n"
      << "seq_len_for_latency = 32\n";
  return dir.string();
}

pid_t spawn_run(const std::string& workspace, const std::vector<std::string>& extra_args = {}) {
  const std::string config = workspace + "/run_config.toml";
  const std::string log = workspace + "/run.log";
  std::vector<std::string> args = {test::tinycompress_bin(), "run", "--config", config, "--quiet"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Every file under results/ must be a whole, parseable result: no temporaries.
void expect_only_complete_results(const fs::path& results) {
  if (!fs::exists(results)) return;
  for (const auto& entry : fs::recursive_directory_iterator(results)) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(entry.path().extension(), ".json") << "stray file " << entry.path();
    const auto parsed = nlohmann::json::parse(read_file(entry.path()), nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << "partial JSON " << entry.path();
  }
}

TEST(RunCommand, KilledRunLeavesNoPartialResultAndResumes) {
  const std::string workspace = make_workspace(60000);
  const fs::path raw = fs::path(workspace) / "results/raw/s";

  // Start a run, wait for the first cell's file, then kill it inside the next cell.
  const pid_t pid = spawn_run(workspace);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(raw / "fp32_cpu.json") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(raw / "fp32_cpu.json")) << read_file(workspace + "/run.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(pid, SIGKILL);
  wait_exit(pid);
  expect_only_complete_results(fs::path(workspace) / "results");
  EXPECT_FALSE(fs::exists(raw / "fp16_cpu.json")) << "the run was not killed mid-matrix";
  const std::string first = read_file(raw / "fp32_cpu.json");

  // The next run skips the finished cell and completes the rest.
  EXPECT_EQ(wait_exit(spawn_run(workspace)), 0) << read_file(workspace + "/run.log");
  expect_only_complete_results(fs::path(workspace) / "results");
  EXPECT_EQ(read_file(raw / "fp32_cpu.json"), first) << "a finished cell was measured again";
  EXPECT_NE(read_file(workspace + "/run.log").find("already done"), std::string::npos);
  for (const char* method : {"fp32_cpu", "bf16_cpu", "fp16_cpu"}) {
    const auto result = nlohmann::json::parse(read_file(raw / (std::string(method) + ".json")));
    EXPECT_EQ(result["status"], "ok") << method << ": " << result["error"];
    EXPECT_EQ(result["schema_version"], 1);
    EXPECT_EQ(result["perplexity"]["split"], "test");
    EXPECT_EQ(result["latency"]["samples_ms"].size(), 2u);
    EXPECT_EQ(result["latency"]["warmup_ms"].size(), 1u);
    EXPECT_GT(result["memory"]["peak_bytes"].get<double>(), 0);
    EXPECT_GT(result["generation"]["new_tokens"].get<int>(), 0);
  }
  // bf16 holds the fixture's bf16 weights exactly: same perplexity as fp32.
  const auto fp32 = nlohmann::json::parse(read_file(raw / "fp32_cpu.json"));
  const auto bf16 = nlohmann::json::parse(read_file(raw / "bf16_cpu.json"));
  EXPECT_EQ(fp32["perplexity"]["ppl"], bf16["perplexity"]["ppl"]);
}

TEST(RunCommand, AFailingCellWritesAFailedResultAndTheRunGoesOn) {
  const std::string workspace = make_workspace(3000);
  // Point the model at a folder without weights: the cell fails, the file says why.
  std::string config = read_file(workspace + "/run_config.toml");
  config.replace(config.find(TC_SOURCE_DIR "/models/tiny-qwen2-s"),
                 std::string(TC_SOURCE_DIR "/models/tiny-qwen2-s").size(), workspace + "/data");
  std::ofstream(workspace + "/run_config.toml") << config;
  EXPECT_EQ(wait_exit(spawn_run(workspace)), 1);
  const fs::path raw = fs::path(workspace) / "results/raw/s";
  for (const char* method : {"fp32_cpu", "bf16_cpu", "fp16_cpu"}) {
    const auto result = nlohmann::json::parse(read_file(raw / (std::string(method) + ".json")));
    EXPECT_EQ(result["status"], "failed");
    EXPECT_NE(result["error"].get<std::string>().find("config.json"), std::string::npos)
        << result["error"];
  }
}

TEST(RunCommand, SpeculativeRowRunsOnTargetsWithADraftAndIsSkippedElsewhere) {
  const std::string workspace = make_workspace(3000);
  // m names s as its draft; s names none.
  std::ofstream(workspace + "/run_config.toml", std::ios::app)
      << "[[models]]\nname = \"m\"\npath = \"" << TC_SOURCE_DIR << "/models/tiny-qwen2-m\"\n"
      << "draft = \"s\"\n";
  const fs::path raw = fs::path(workspace) / "results/raw";

  // Named explicitly on a model without a draft: skipped with a line, no file, no failure.
  EXPECT_EQ(wait_exit(spawn_run(workspace, {"--models", "s", "--methods", "spec_k4_cpu"})), 0)
      << read_file(workspace + "/run.log");
  EXPECT_NE(
      read_file(workspace + "/run.log").find("s x spec_k4_cpu: skipped: the model names no draft"),
      std::string::npos)
      << read_file(workspace + "/run.log");
  EXPECT_FALSE(fs::exists(raw / "s/spec_k4_cpu.json"));

  // On m, with its draft s loaded although --models does not list it.
  EXPECT_EQ(wait_exit(spawn_run(workspace, {"--models", "m", "--methods", "spec_k4_cpu"})), 0)
      << read_file(workspace + "/run.log");
  const auto result = nlohmann::json::parse(read_file(raw / "m/spec_k4_cpu.json"));
  EXPECT_EQ(result["status"], "ok") << result["error"];
  EXPECT_TRUE(result["latency"].is_null());
  EXPECT_TRUE(result["perplexity"].is_null());
  EXPECT_GT(result["generation"]["draft_tokens_proposed"].get<int>(), 0);
  // The size is both models': the fp32 row of m alone holds less.
  EXPECT_GT(result["size"]["weights_in_memory_bytes"].get<int64_t>(),
            4 * result["model"]["config"]["parameters"].get<int64_t>());
  const auto& spec = result["speculative"];
  EXPECT_EQ(spec["draft"], "s");
  EXPECT_EQ(spec["k"], 4);
  EXPECT_GT(spec["proposed"].get<int>(), 0);
  EXPECT_EQ(spec["accept_rate"].get<double>(),
            spec["accepted"].get<double>() / spec["proposed"].get<double>());
  ASSERT_EQ(spec["per_prompt"].size(), 1u);
  EXPECT_EQ(spec["per_prompt"][0]["new_tokens"], 4);
  EXPECT_EQ(spec["per_prompt"][0]["ids_identical"], true);
  EXPECT_GT(spec["wallclock_speedup"].get<double>(), 0);
}

}  // namespace
}  // namespace tc
