// tinycompress init-random: a random-weight checkpoint in the real Qwen2.5
// shapes (config, bf16 safetensors, synthetic tokenizer) for speed work.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "model/random_checkpoint.h"

namespace tc::apps {

namespace {

struct InitRandomOptions {
  std::string like;
  std::string out;
  uint64_t seed = 0;
};

double mib(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

void run_init_random(const InitRandomOptions& options) {
  model::RandomCheckpointSpec spec = model::random_checkpoint_preset(options.like);
  spec.seed = options.seed;
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Progress on stderr in 10% steps: the 3B file takes a while to write.
  int reported = -1;
  const auto progress = [&](size_t written, size_t total) {
    const int tenth = total == 0 ? 10 : static_cast<int>(written * 10 / total);
    if (tenth == reported) return;
    reported = tenth;
    std::fprintf(stderr, "init-random: model.safetensors %3d%% (%.0f of %.0f MiB, %.1f s)\n",
                 tenth * 10, mib(written), mib(total), seconds());
  };
  const model::RandomCheckpointInfo info =
      model::write_random_checkpoint(options.out, spec, progress);
  std::fprintf(stderr,
               "init-random: wrote %s (%s, seed %llu): %.1f M parameters, model.safetensors "
               "%.1f MiB, %.1f s\n",
               options.out.c_str(), options.like.c_str(),
               static_cast<unsigned long long>(options.seed),
               static_cast<double>(info.parameters) / 1e6, mib(info.safetensors_bytes), seconds());
}

}  // namespace

void register_init_random(CLI::App& app) {
  auto options = std::make_shared<InitRandomOptions>();
  CLI::App* command = app.add_subcommand(
      "init-random",
      "Write a random-weight Qwen2.5-shaped checkpoint (config.json, bf16 model.safetensors, "
      "a synthetic 151k-token tokenizer) for speed and memory measurements");
  std::string names;
  for (const auto& name : model::random_checkpoint_presets()) {
    names += (names.empty() ? "" : " | ") + name;
  }
  // "tiny" is accepted too (tests) but not advertised.
  command->add_option("--like", options->like, "Shapes to copy: " + names)->required();
  command->add_option("--out", options->out, "Folder to write (created if missing)")->required();
  command->add_option("--seed", options->seed, "Seed of the weights (same seed, same bytes)")
      ->capture_default_str();
  command->callback([options] { run_init_random(*options); });
}

}  // namespace tc::apps
