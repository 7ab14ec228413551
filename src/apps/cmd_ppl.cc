// tinycompress ppl: sliding-window perplexity of one model (and method) on a text file.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/perplexity.h"
#include "harness/methods.h"
#include "io/hf_hub.h"
#include "tokenizer/tokenizer.h"

namespace tc::apps {

namespace {

struct PplOptions {
  std::string model;
  std::string text_file;
  int64_t max_length = 256;
  int64_t stride = 128;
  std::string method = "fp32_cpu";
  std::string calib_file;
  size_t threads = 0;
  bool json = false;
};

void run_ppl(const PplOptions& options) {
  ThreadPool::set_global_threads(options.threads);
  const harness::Method& method = harness::find_method(options.method);
  std::ifstream file(options.text_file, std::ios::binary);
  if (!file) fail("{}: cannot open text file", options.text_file);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());

  const std::string dir = io::resolve_model_dir(options.model);
  const auto tokenizer = tokenizer::Tokenizer::from_model_dir(dir);
  harness::PreparedModel prepared = method.prepare({dir, options.calib_file});
  const std::vector<int32_t> ids = tokenizer.encode(text);

  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  int next_report = 10;
  const eval::PerplexityResult result = eval::sliding_window_perplexity(
      *prepared.model, ids,
      {.max_length = options.max_length,
       .stride = options.stride,
       .kv_cache = eval::perplexity_kv_cache(method.kv_cache),
       .progress = [&](int64_t done, int64_t total) {
         const int percent = static_cast<int>(100 * done / total);
         if (terminal) {
           std::fprintf(stderr, "\rppl: window %ld/%ld (%d%%)", static_cast<long>(done),
                        static_cast<long>(total), percent);
           if (done == total) std::fprintf(stderr, "\n");
         } else if (percent >= next_report) {
           std::fprintf(stderr, "ppl: window %ld/%ld (%d%%)\n", static_cast<long>(done),
                        static_cast<long>(total), percent);
           next_report = percent + 10;
         }
       }});
  if (options.json) {
    const nlohmann::json out = {{"ppl", result.ppl},
                                {"nll_sum", result.nll_sum},
                                {"scored_tokens", result.scored_tokens},
                                {"windows", result.windows},
                                {"n_tokens", ids.size()},
                                {"max_length", options.max_length},
                                {"stride", options.stride},
                                {"method", method.name},
                                {"kv_cache", std::string(model::kv_format_name(method.kv_cache))},
                                {"model", dir},
                                {"text_file", options.text_file},
                                {"seconds", result.seconds},
                                {"data_used", prepared.data_used}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("ppl %.6f over %ld scored tokens in %ld windows (%s, %s, %.1f s)\n", result.ppl,
              static_cast<long>(result.scored_tokens), static_cast<long>(result.windows),
              method.name.c_str(), options.text_file.c_str(), result.seconds);
}

}  // namespace

void register_ppl(CLI::App& app) {
  auto options = std::make_shared<PplOptions>();
  CLI::App* command = app.add_subcommand(
      "ppl", "Sliding-window perplexity of a model (after a method is applied) on a text file");
  command->add_option("--model", options->model, "Model folder or Hugging Face id")->required();
  command->add_option("--text-file", options->text_file, "Text to score (UTF-8)")->required();
  command->add_option("--max-length", options->max_length, "Window length in tokens")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20))
      ->capture_default_str();
  command
      ->add_option("--stride", options->stride,
                   "Window start step; each window scores only tokens no earlier one scored")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--method", options->method, "Method from the registry (see docs/METHODS.md)")
      ->capture_default_str();
  command->add_option("--calib-file", options->calib_file,
                      "Train-split text (or data set folder) for methods that calibrate");
  command->add_option("--threads", options->threads, "Kernel threads (0 = all cores)")
      ->capture_default_str();
  command->add_flag("--json", options->json,
                    "Print one JSON object: ppl, nll_sum, scored_tokens, windows, ...");
  command->callback([options] { run_ppl(*options); });
}

}  // namespace tc::apps
