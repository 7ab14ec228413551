// tinycompress: compress small decoder LMs and measure every (model, method) cell.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "apps/commands.h"
#include "backends/backend.h"
#include "core/cpu_features.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "tinycompress: load Qwen2-family models in Hugging Face layout, apply compression\n"
      "and decoding methods, and measure speed, memory, size and quality."};
  app.require_subcommand(1);
  app.footer(
      "Environment:\n"
      "  TC_ISA=scalar|avx2|avx512  run the kernels at this instruction-set level (default:\n"
      "                             the best this CPU has; `info` shows the level in use)\n"
      "  TC_BACKEND=cpu|reference   run the model on the optimized kernels (default) or on\n"
      "                             their scalar reference twins (slow; for checking)");
  tc::apps::register_run(app);
  tc::apps::register_ppl(app);
  tc::apps::register_quantize(app);
  tc::apps::register_bench(app);
  tc::apps::register_table(app);
  tc::apps::register_audit(app);
  tc::apps::register_generate(app);
  tc::apps::register_tokenize(app);
  tc::apps::register_logits(app);
  tc::apps::register_init_random(app);
  tc::apps::register_info(app);
  try {
    tc::cpu_features();                        // a bad TC_ISA fails here,
    tc::backends::backend_from_environment();  // and a bad TC_BACKEND, before any work
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tc::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
