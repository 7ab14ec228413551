// tinycompress run: measure the (model × method) matrix of a run_config.
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include "apps/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "eval/dataset.h"
#include "eval/generation_bench.h"
#include "harness/cell.h"
#include "harness/methods.h"
#include "harness/run_config.h"
#include "profile/hardware.h"

namespace tc::apps {

namespace {

struct RunOptions {
  std::string config = "run_config.toml";
  std::string models;   // comma-separated; empty: the config's default models
  std::string methods;  // comma-separated; empty: the config's default methods
  std::string results;  // overrides the config's results folder
  bool force = false;
  bool quiet = false;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

void run_matrix(const RunOptions& options) {
  const harness::RunConfig config = harness::load_run_config(options.config);
  ThreadPool::set_global_threads(static_cast<size_t>(config.threads));
  const std::string results_dir = options.results.empty() ? config.results_dir : options.results;

  std::vector<const harness::ModelEntry*> models;
  if (options.models.empty()) {
    for (const auto& entry : config.models) {
      if (entry.in_default_run) models.push_back(&entry);
    }
  } else {
    for (const auto& name : split_list(options.models)) models.push_back(&config.model(name));
  }
  std::vector<const harness::Method*> methods;
  for (const auto& name :
       options.methods.empty() ? config.default_methods : split_list(options.methods)) {
    methods.push_back(&harness::find_method(name));
  }

  // Shared by every cell: the evaluation text, the prompts, the hardware.
  const std::string eval_dir = eval::choose_eval_dataset(config.eval_candidates);
  const eval::TextSplit eval_text = eval::load_split(eval_dir, config.eval_split);
  std::string calibration_source;
  if (!config.calibration_candidates.empty()) {
    calibration_source = eval::choose_eval_dataset(config.calibration_candidates);
  }
  const std::vector<std::string> prompts = eval::read_prompts(config.prompts_file);
  const nlohmann::json hardware = profile::hardware_snapshot();
  std::fprintf(stderr,
               "run: %zu models x %zu methods, evaluation text %s (%s split), results in %s\n",
               models.size(), methods.size(), eval_text.file.c_str(), eval_text.split.c_str(),
               results_dir.c_str());

  Stopwatch total;
  size_t index = 0, done = 0, skipped = 0, failed = 0;
  const size_t cells = models.size() * methods.size();
  for (const auto* entry : models) {
    for (const auto* method : methods) {
      ++index;
      if (method->needs_draft && entry->draft.empty()) {
        std::fprintf(stderr,
                     "[%zu/%zu] %s x %s: skipped: the model names no draft (run_config key "
                     "'draft')\n",
                     index, cells, entry->name.c_str(), method->name.c_str());
        ++skipped;
        continue;
      }
      const std::string path = harness::result_path(results_dir, entry->name, method->name);
      if (!options.force && harness::cell_done(path)) {
        std::fprintf(stderr, "[%zu/%zu] %s x %s: already done (%s), skipped; --force reruns\n",
                     index, cells, entry->name.c_str(), method->name.c_str(), path.c_str());
        ++skipped;
        continue;
      }
      std::fprintf(stderr, "[%zu/%zu] %s x %s ...\n", index, cells, entry->name.c_str(),
                   method->name.c_str());
      harness::CellInputs inputs;
      inputs.model = entry;
      inputs.method = method;
      // The draft is loaded for the cell even when --models leaves it out.
      if (method->needs_draft) inputs.draft = &config.model(entry->draft);
      inputs.eval_text = &eval_text;
      inputs.calibration_source = calibration_source;
      inputs.prompts_file = config.prompts_file;
      inputs.prompts = prompts;
      inputs.hardware = hardware;
      inputs.show_progress = !options.quiet;
      const harness::ResultRecord result = harness::run_cell(inputs);
      harness::write_result(path, result);
      if (result.status == "ok") {
        ++done;
        std::string speculative;
        if (result.speculative) {
          speculative = ", accept rate " + std::to_string(result.speculative->accept_rate) +
                        ", speed-up " + std::to_string(result.speculative->wallclock_speedup);
        }
        std::fprintf(stderr, "    ok in %.1f s: ppl %s, forward p50 %s ms%s -> %s\n",
                     result.wall_seconds,
                     result.perplexity ? std::to_string(result.perplexity->ppl).c_str() : "-",
                     result.latency ? std::to_string(result.latency->ms.p50).c_str() : "-",
                     speculative.c_str(), path.c_str());
      } else {
        ++failed;
        std::fprintf(stderr, "    FAILED: %s -> %s\n", result.error.value_or("").c_str(),
                     path.c_str());
      }
    }
  }
  std::fprintf(stderr, "run: %zu cells measured, %zu skipped, %zu failed in %.1f s\n", done,
               skipped, failed, total.seconds());
  if (failed > 0) fail("{} of {} cells failed (their result files say why)", failed, cells);
}

}  // namespace

void register_run(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* command = app.add_subcommand(
      "run",
      "Measure every (model, method) cell of a run_config: forward latency, greedy generation, "
      "sliding-window perplexity, peak memory, size; one JSON per cell in "
      "<results>/raw/<model>/<method>.json. Cells already done are skipped.");
  command->add_option("--config", options->config, "The run_config TOML file")
      ->capture_default_str();
  command->add_option("--models", options->models,
                      "Comma-separated model names from the config (default: its default models)");
  command->add_option("--methods", options->methods,
                      "Comma-separated method names (default: the config's [methods] default)");
  command->add_option("--results", options->results,
                      "Results folder (default: the config's, normally results/)");
  command->add_flag("--force", options->force, "Measure cells again even if already done");
  command->add_flag("--quiet", options->quiet, "No perplexity progress lines");
  command->callback([options] { run_matrix(*options); });
}

}  // namespace tc::apps
