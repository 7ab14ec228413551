// Each subcommand of the tinycompress command line lives in its own file and
// registers itself here: it adds its options to the parser and sets the
// callback that runs it.
#pragma once

#include <CLI/CLI.hpp>

namespace tc::apps {

void register_generate(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_logits(CLI::App& app);
void register_init_random(CLI::App& app);
void register_run(CLI::App& app);
void register_ppl(CLI::App& app);
void register_info(CLI::App& app);
void register_table(CLI::App& app);
void register_audit(CLI::App& app);
void register_quantize(CLI::App& app);
void register_bench(CLI::App& app);

}  // namespace tc::apps
