// tinycompress audit: checks every result file against the results contract
// and the measurement rules; prints one "path: rule: detail" line per
// violation and exits 1 if there is any.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "apps/commands.h"
#include "harness/audit.h"

namespace tc::apps {

namespace {

struct AuditOptions {
  std::string results = "results";
  bool allow_mixed_revisions = false;
};

void run_audit(const AuditOptions& options) {
  harness::AuditOptions audit_options;
  audit_options.allow_mixed_revisions = options.allow_mixed_revisions;
  const harness::AuditReport report = harness::audit_results(options.results, audit_options);
  for (const harness::Violation& violation : report.violations) {
    std::printf("%s\n", harness::format_violation(violation).c_str());
  }
  std::printf("%s\n", fmt::format("audit: {} files, {} violations", report.n_files,
                                  report.violations.size())
                          .c_str());
  std::fflush(stdout);
  // RuntimeError makes CLI11 return the exit code without printing anything.
  if (!report.violations.empty()) throw CLI::RuntimeError(1);
}

}  // namespace

void register_audit(CLI::App& app) {
  auto options = std::make_shared<AuditOptions>();
  CLI::App* command = app.add_subcommand(
      "audit",
      "Check every result file in <results>/raw against docs/RESULTS_SCHEMA.md and the "
      "measurement rules; exit 1 on any violation");
  command->add_option("--results", options->results, "Results folder (holds raw/)")
      ->capture_default_str();
  command->add_flag("--allow-mixed-revisions", options->allow_mixed_revisions,
                    "Accept results from several git revisions");
  std::string rules = "Rules:";
  for (const harness::AuditRule& rule : harness::audit_rules()) {
    rules += fmt::format("\n  {:<18} {}", rule.name, rule.summary);
  }
  command->footer(rules);
  command->callback([options] { run_audit(*options); });
}

}  // namespace tc::apps
