// tinycompress quantize: apply a method once and save the result as a checkpoint.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "harness/methods.h"
#include "io/atomic_file.h"
#include "io/hf_hub.h"
#include "model/checkpoint_writer.h"

namespace tc::apps {

namespace {

struct QuantizeOptions {
  std::string model;
  std::string method;
  std::string out;
  std::string calib;
  size_t threads = 0;
};

void run_quantize(const QuantizeOptions& options) {
  ThreadPool::set_global_threads(options.threads);
  const harness::Method& method = harness::find_method(options.method);
  const std::string dir = io::resolve_model_dir(options.model);
  Stopwatch clock;
  const harness::PreparedModel prepared = method.prepare({dir, options.calib});
  const double seconds = clock.seconds();
  model::save_checkpoint(*prepared.model, dir, options.out,
                         {{"method", method.name}, {"source", dir}});
  // What the method did (per-layer errors, calibration windows) beside the weights.
  const nlohmann::json report = {{"method", method.name},
                                 {"description", method.description},
                                 {"source", dir},
                                 {"seconds", seconds},
                                 {"method_details", prepared.details},
                                 {"data_used", prepared.data_used}};
  io::write_file_atomic((std::filesystem::path(options.out) / "tinycompress_method.json").string(),
                        report.dump(2) + "\n");
  std::fprintf(stderr, "%s: %s applied in %.1f s, %.2f MB of weights written to %s\n", dir.c_str(),
               method.name.c_str(), seconds,
               static_cast<double>(prepared.model->weight_bytes()) / 1e6, options.out.c_str());
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto options = std::make_shared<QuantizeOptions>();
  CLI::App* command = app.add_subcommand(
      "quantize",
      "Apply a method (int8_wo_cpu, int4_g128_cpu, gptq_int4_g128_cpu, ...) once and "
      "save the model as a checkpoint folder that --model accepts");
  command->add_option("--model", options->model, "Model folder or Hugging Face id")->required();
  command->add_option("--method", options->method, "Method from the registry")->required();
  command->add_option("--out", options->out, "Output folder")->required();
  command->add_option("--calib-file", options->calib,
                      "Data set folder or train-split file for calibrating methods (GPTQ)");
  command->add_option("--threads", options->threads, "Kernel threads (0 = all cores)");
  command->callback([options] { run_quantize(*options); });
}

}  // namespace tc::apps
