// The self-audit: checks every result file against the contract in
// docs/RESULTS_SCHEMA.md and against the habits that keep numbers honest
// (warm-up excluded, test split for perplexity, no training text in the
// evaluation text, one baseline and one build per table).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "harness/results_reader.h"

namespace tc::harness {

// One broken rule in one file (or, for rules over the whole set, the file or
// folder the fix belongs to). Printed as "path: rule: detail".
struct Violation {
  std::string path;
  std::string rule;
  std::string detail;
};
std::string format_violation(const Violation& violation);

struct AuditOptions {
  // Accept result files from several git revisions (rule one_revision).
  bool allow_mixed_revisions = false;
  // Reads a data file named in a result (data_used[].file, perplexity.file)
  // as text; ".xz" files decompressed. Tests inject their own.
  std::function<std::string(const std::string& path)> read_text = read_data_text;
  // Lowercase hex SHA-256 of a text slice.
  std::function<std::string(std::string_view)> sha256_hex = default_sha256_hex;

  static std::string read_data_text(const std::string& path);
  static std::string default_sha256_hex(std::string_view text);
};

// What the rules share while one audit runs: the files, the options, and the
// data files already read (every cell names the same corpus, read once).
class AuditContext {
 public:
  AuditContext(const std::vector<ResultFile>& files, std::string root, const AuditOptions& options)
      : files_(files), root_(std::move(root)), options_(options) {}

  const std::vector<ResultFile>& files() const { return files_; }
  // The raw folder, for violations about the set rather than one file.
  const std::string& root() const { return root_; }
  const AuditOptions& options() const { return options_; }
  // The text of a data file, read once per audit; throws tc::Error (and
  // remembers it) when the file cannot be read.
  const std::string& data_text(const std::string& path);
  // SHA-256 of data_text(path), computed once per audit.
  const std::string& data_sha256(const std::string& path);

  void report(const std::string& path, std::string_view rule, std::string detail);
  std::vector<Violation>& violations() { return violations_; }

 private:
  const std::vector<ResultFile>& files_;
  std::string root_;
  const AuditOptions& options_;
  std::map<std::string, std::string> texts_;
  std::map<std::string, std::string> read_errors_;
  std::map<std::string, std::string> hashes_;
  std::vector<Violation> violations_;
};

// A named rule: check() looks at every file of the context and reports what
// it finds. Rules own disjoint fields, so one defect fires one rule.
struct AuditRule {
  std::string_view name;
  std::string_view summary;
  void (*check)(AuditContext& context, std::string_view name);
};

// Every rule, in the order they run.
const std::vector<AuditRule>& audit_rules();

// Runs every rule over `files`; `root` names the set in set-wide violations.
// Violations come sorted by (path, rule, detail) so the report is stable.
std::vector<Violation> audit_files(const std::vector<ResultFile>& files, const std::string& root,
                                   const AuditOptions& options = {});

struct AuditReport {
  size_t n_files = 0;
  std::vector<Violation> violations;
};

// Reads <results_dir>/raw and audits it.
AuditReport audit_results(const std::string& results_dir, const AuditOptions& options = {});

// Linear interpolation between order statistics (numpy's default percentile);
// q in [0, 100]. `values` must not be empty.
double percentile_linear(std::vector<double> values, double q);

}  // namespace tc::harness
