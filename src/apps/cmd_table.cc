// tinycompress table: RESULTS.md and results/tables/<model>.{md,csv} from the
// result files in results/raw, and nothing else.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "apps/commands.h"
#include "harness/results_reader.h"
#include "harness/tables.h"

namespace tc::apps {

namespace {

struct TableOptions {
  std::string results = "results";
  std::string out = "RESULTS.md";
  std::string tables_dir;  // default <results>/tables
};

void run_table(const TableOptions& options) {
  const std::string tables_dir =
      options.tables_dir.empty() ? options.results + "/tables" : options.tables_dir;
  const std::vector<harness::ResultFile> files = harness::read_results(options.results);
  harness::TableOptions table_options;
  // Built from the options, not argv, so the same settings always print the
  // same header (the output stays byte-identical).
  table_options.command = fmt::format("tinycompress table --results {} --out {} --tables-dir {}",
                                      options.results, options.out, tables_dir);
  const harness::RenderedTables tables = harness::render_tables(files, table_options);
  harness::write_tables(tables, options.out, tables_dir);
  std::fprintf(stderr, "%s\n",
               fmt::format("table: {} result files, {} models: wrote {} and {}/<model>.{{md,csv}}",
                           files.size(), tables.model_md.size(), options.out, tables_dir)
                   .c_str());
}

}  // namespace

void register_table(CLI::App& app) {
  auto options = std::make_shared<TableOptions>();
  CLI::App* command = app.add_subcommand(
      "table",
      "Render RESULTS.md and <tables-dir>/<model>.{md,csv} from the result files in "
      "<results>/raw/<model>/<method>.json");
  command->add_option("--results", options->results, "Results folder (holds raw/)")
      ->capture_default_str();
  command->add_option("--out", options->out, "Markdown summary to write")->capture_default_str();
  command->add_option("--tables-dir", options->tables_dir,
                      "Folder for the per-model tables (default: <results>/tables)");
  command->callback([options] { run_table(*options); });
}

}  // namespace tc::apps
