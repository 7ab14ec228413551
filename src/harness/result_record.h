// One result file, results/raw/<model>/<method>.json, as C++ types. These
// structs are the schema: the cell runner fills one and writes it
// (to_json), tables and the audit read it back (read_result) and the audit
// checks it (validate_result). docs/RESULTS_SCHEMA.md documents the same
// fields, and ResultRecord.DocumentsEveryWrittenField checks that it does.
//
// Each struct lists its fields once, in fields(): the writer, the reader and
// the checks all walk that list, so a field exists in all of them or none.
// Free-form parts (the hardware snapshot, method_details) stay JSON. Besides
// records, numbers, strings and free-form JSON, a field may be a
// std::vector (an array), a std::map from string (an object whose keys are
// data, such as kernel names) or a std::variant<std::string, Record> (a
// string or an object: a slot that says why it holds no measurement).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace tc::profile {
struct RssReport;
}
namespace tc::eval {
struct SampleStats;
}

namespace tc::harness {

// Schema version major.minor, stored as `schema_version` (the major) and
// `schema_minor` (absent in 1.0 files). A minor version adds optional keys
// or statuses; a reader accepts every minor of its major and every older
// version. A new major is for a change that older readers would misread,
// and they refuse it. docs/RESULTS_SCHEMA.md has the rule and the history.
inline constexpr int64_t kSchemaMajor = 1;
inline constexpr int64_t kSchemaMinor = 3;

// What one minor version of the current major allows and requires; the
// audit checks a file against the entry of its own version.
struct SchemaVersionRules {
  int64_t minor = 0;
  std::vector<std::string> statuses;          // allowed values of `status`
  std::vector<std::string> required_when_ok;  // top-level fields an ok cell must have, not null
  std::string change;                         // what this version added
};
// Every minor version of kSchemaMajor, 0 to kSchemaMinor.
const std::vector<SchemaVersionRules>& schema_versions();
// The rules of `minor`; a newer minor than this build knows gets the newest
// known rules (its additions are optional by the rule above).
const SchemaVersionRules& schema_rules(int64_t minor);

// How a field appears in the file. kAlways: the key is always written (an
// unset std::optional as null) and a reader requires it. kWhenSet: an empty
// value (an unset std::optional, null JSON) is left out, and an absent key
// reads as empty.
enum class Presence { kAlways, kWhenSet };

struct ModelConfigRecord {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  bool tie_word_embeddings = false;
  int64_t parameters = 0;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("hidden_size", self.hidden_size);
    visit("intermediate_size", self.intermediate_size);
    visit("num_layers", self.num_layers);
    visit("num_heads", self.num_heads);
    visit("num_kv_heads", self.num_kv_heads);
    visit("head_dim", self.head_dim);
    visit("vocab_size", self.vocab_size);
    visit("tie_word_embeddings", self.tie_word_embeddings);
    visit("parameters", self.parameters);
  }
};

struct ModelRecord {
  std::string name;  // as in run_config
  std::string path;  // the folder used
  std::string role;
  std::optional<ModelConfigRecord> config;  // absent when the model did not load

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("name", self.name);
    visit("path", self.path);
    visit("role", self.role);
    visit("config", self.config, Presence::kWhenSet);
  }
};

struct MethodRecord {
  std::string name;  // registry key
  std::string description;
  std::string weight_format;
  std::string device;
  std::string kv_cache;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("name", self.name);
    visit("description", self.description);
    visit("weight_format", self.weight_format);
    visit("device", self.device);
    visit("kv_cache", self.kv_cache);
  }
};

struct SettingsRecord {
  int64_t n_warmup = 0;
  int64_t n_iters = 0;
  int64_t seq_len_for_latency = 0;
  int64_t ppl_max_length = 0;
  int64_t ppl_stride = 0;
  int64_t max_new_tokens = 0;
  int64_t threads = 0;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("n_warmup", self.n_warmup);
    visit("n_iters", self.n_iters);
    visit("seq_len_for_latency", self.seq_len_for_latency);
    visit("ppl_max_length", self.ppl_max_length);
    visit("ppl_stride", self.ppl_stride);
    visit("max_new_tokens", self.max_new_tokens);
    visit("threads", self.threads);
  }
};

struct LoadRecord {
  double seconds = 0;  // load + method application

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("seconds", self.seconds);
  }
};

struct LatencyStatsRecord {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, min = 0, max = 0;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("mean", self.mean);
    visit("p50", self.p50);
    visit("p90", self.p90);
    visit("p99", self.p99);
    visit("min", self.min);
    visit("max", self.max);
  }
};

// Statistics computed by eval::summarize as the result's `ms` object.
LatencyStatsRecord stats_record_of(const eval::SampleStats& stats);

struct LatencyRecord {
  int64_t seq_len = 0;
  int64_t n_warmup = 0;
  int64_t n_iters = 0;
  std::vector<double> warmup_ms;   // discarded, listed for transparency
  std::vector<double> samples_ms;  // the timed iterations
  LatencyStatsRecord ms;           // from samples_ms only

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("seq_len", self.seq_len);
    visit("n_warmup", self.n_warmup);
    visit("n_iters", self.n_iters);
    visit("warmup_ms", self.warmup_ms);
    visit("samples_ms", self.samples_ms);
    visit("ms", self.ms);
  }
};

struct PromptRecord {
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  double seconds = 0;
  double tok_s = 0;
  double prefill_tok_s = 0;
  double decode_tok_s = 0;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("prompt_tokens", self.prompt_tokens);
    visit("new_tokens", self.new_tokens);
    visit("prefill_seconds", self.prefill_seconds);
    visit("decode_seconds", self.decode_seconds);
    visit("seconds", self.seconds);
    visit("tok_s", self.tok_s);
    visit("prefill_tok_s", self.prefill_tok_s);
    visit("decode_tok_s", self.decode_tok_s);
  }
};

struct GenerationRecord {
  std::string prompts_file;
  std::string prompts_sha256;
  int64_t max_new_tokens = 0;
  std::vector<PromptRecord> per_prompt;
  int64_t new_tokens = 0;
  double seconds = 0;
  double tok_s = 0;
  double prefill_tok_s = 0;
  double decode_tok_s = 0;
  // Draft tokens a speculative decoder proposed and the target accepted,
  // summed over prompts (0 without a draft; absent before 1.2).
  std::optional<int64_t> draft_tokens_proposed;
  std::optional<int64_t> draft_tokens_accepted;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("prompts_file", self.prompts_file);
    visit("prompts_sha256", self.prompts_sha256);
    visit("max_new_tokens", self.max_new_tokens);
    visit("per_prompt", self.per_prompt);
    visit("new_tokens", self.new_tokens);
    visit("seconds", self.seconds);
    visit("tok_s", self.tok_s);
    visit("prefill_tok_s", self.prefill_tok_s);
    visit("decode_tok_s", self.decode_tok_s);
    visit("draft_tokens_proposed", self.draft_tokens_proposed, Presence::kWhenSet);
    visit("draft_tokens_accepted", self.draft_tokens_accepted, Presence::kWhenSet);
  }
};

// One prompt of a speculative row: the speculative run and the target-only
// greedy run of the same prompt, one after the other in the same process.
struct SpeculativePromptRecord {
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;              // of the speculative run
  int64_t target_only_new_tokens = 0;  // of the target-only run
  int64_t proposed = 0;                // draft tokens proposed
  int64_t accepted = 0;                // of those, confirmed by the target
  double spec_seconds = 0;             // prefill and steps of the speculative run
  double target_only_seconds = 0;      // prefill and steps of the target-only run
  bool ids_identical = false;          // both runs produced the same ids

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("prompt_tokens", self.prompt_tokens);
    visit("new_tokens", self.new_tokens);
    visit("target_only_new_tokens", self.target_only_new_tokens);
    visit("proposed", self.proposed);
    visit("accepted", self.accepted);
    visit("spec_seconds", self.spec_seconds);
    visit("target_only_seconds", self.target_only_seconds);
    visit("ids_identical", self.ids_identical);
  }
};

// A speculative row's own measurement (since 1.3): the prompts decoded with
// the draft and without it. Totals are sums over per_prompt; the audit's
// speculative rule recomputes the rate and the speed-up from them.
struct SpeculativeRecord {
  std::string draft;  // the draft model's name in run_config
  int64_t k = 0;      // draft tokens proposed a step
  int64_t proposed = 0;
  int64_t accepted = 0;
  double accept_rate = 0;  // accepted / proposed (0 when nothing was proposed)
  int64_t new_tokens = 0;
  int64_t target_only_new_tokens = 0;
  double spec_seconds = 0;
  double target_only_seconds = 0;
  double spec_tok_s = 0;         // new_tokens / spec_seconds
  double target_only_tok_s = 0;  // target_only_new_tokens / target_only_seconds
  double wallclock_speedup = 0;  // target_only_seconds / spec_seconds
  std::vector<SpeculativePromptRecord> per_prompt;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("draft", self.draft);
    visit("k", self.k);
    visit("proposed", self.proposed);
    visit("accepted", self.accepted);
    visit("accept_rate", self.accept_rate);
    visit("new_tokens", self.new_tokens);
    visit("target_only_new_tokens", self.target_only_new_tokens);
    visit("spec_seconds", self.spec_seconds);
    visit("target_only_seconds", self.target_only_seconds);
    visit("spec_tok_s", self.spec_tok_s);
    visit("target_only_tok_s", self.target_only_tok_s);
    visit("wallclock_speedup", self.wallclock_speedup);
    visit("per_prompt", self.per_prompt);
  }
};

struct PerplexityRecord {
  // Where the text came from. The audit's ppl_split rule (not the reader)
  // reports a missing one, so it can say why it matters.
  std::optional<std::string> dataset;
  std::optional<std::string> split;
  std::optional<std::string> file;
  std::string sha256;
  int64_t n_tokens = 0;
  int64_t max_length = 0;
  int64_t stride = 0;
  double ppl = 0;
  double nll_sum = 0;
  int64_t scored_tokens = 0;
  int64_t windows = 0;
  double seconds = 0;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("dataset", self.dataset, Presence::kWhenSet);
    visit("split", self.split, Presence::kWhenSet);
    visit("file", self.file, Presence::kWhenSet);
    visit("sha256", self.sha256);
    visit("n_tokens", self.n_tokens);
    visit("max_length", self.max_length);
    visit("stride", self.stride);
    visit("ppl", self.ppl);
    visit("nll_sum", self.nll_sum);
    visit("scored_tokens", self.scored_tokens);
    visit("windows", self.windows);
    visit("seconds", self.seconds);
  }
};

struct MemoryRecord {
  int64_t baseline_bytes = 0;
  int64_t peak_bytes = 0;
  std::optional<int64_t> peak_above_baseline_bytes;  // absent in some 1.0 files
  int64_t samples = 0;
  double interval_ms = 0;
  double duration_s = 0;
  std::optional<int64_t> kernel_peak_bytes;  // null where VmHWM is not available
  bool reliable = true;
  std::optional<std::string> note;  // why not reliable; "" or null when nothing to say

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("baseline_bytes", self.baseline_bytes);
    visit("peak_bytes", self.peak_bytes);
    // Written since the sampler existed but documented only since 1.1, so
    // a hand-made 1.0 file may lack it.
    visit("peak_above_baseline_bytes", self.peak_above_baseline_bytes, Presence::kWhenSet);
    visit("samples", self.samples);
    visit("interval_ms", self.interval_ms);
    visit("duration_s", self.duration_s);
    visit("kernel_peak_bytes", self.kernel_peak_bytes);
    visit("reliable", self.reliable);
    visit("note", self.note, Presence::kWhenSet);
  }
};

// The sampler's report as the result's `memory`.
MemoryRecord memory_record_of(const profile::RssReport& report);

struct SizeRecord {
  int64_t weights_in_memory_bytes = 0;
  int64_t on_disk_bytes = 0;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("weights_in_memory_bytes", self.weights_in_memory_bytes);
    visit("on_disk_bytes", self.on_disk_bytes);
  }
};

struct DataWindowRecord {
  int64_t byte_offset = 0;  // into the hashed bytes
  int64_t byte_length = 0;
  int64_t n_tokens = 0;
  std::string sha256;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("byte_offset", self.byte_offset);
    visit("byte_length", self.byte_length);
    visit("n_tokens", self.n_tokens);
    visit("sha256", self.sha256);
  }
};

struct DataUseRecord {
  std::string purpose;  // "calibration" or "training"
  std::string dataset;
  std::optional<std::string> layout;  // absent in files written before layouts
  std::string split;
  std::string file;
  std::optional<std::string> hashed;  // "file_bytes" or "decompressed_text"; absent in old files
  std::string sha256;
  std::vector<DataWindowRecord> windows;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("purpose", self.purpose);
    visit("dataset", self.dataset);
    visit("layout", self.layout, Presence::kWhenSet);
    visit("split", self.split);
    visit("file", self.file);
    visit("hashed", self.hashed, Presence::kWhenSet);
    visit("sha256", self.sha256);
    visit("windows", self.windows);
  }
};

// A method's data_used entries (eval::to_json of its splits) as records;
// throws tc::Error naming `source` and the field when one is malformed.
std::vector<DataUseRecord> data_used_from_json(const nlohmann::json& entries,
                                               const std::string& source);

// An integer that may be negative: a difference between two measurements.
// Every other integer of a result is a count or a size, and validation
// refuses a negative one.
struct SignedInt {
  int64_t value = 0;
  bool operator==(const SignedInt&) const = default;
};

// One rung of the KV-cache probe: the cache of one format at one length.
struct KvProbeRungRecord {
  int64_t tokens = 0;
  std::string kv_format;
  int64_t analytic_bytes_per_token = 0;
  int64_t analytic_bytes = 0;
  int64_t measured_bytes = 0;
  int64_t allocated_bytes = 0;
  SignedInt rss_delta_bytes;
  double decode_tok_s = 0;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("tokens", self.tokens);
    visit("kv_format", self.kv_format);
    visit("analytic_bytes_per_token", self.analytic_bytes_per_token);
    visit("analytic_bytes", self.analytic_bytes);
    visit("measured_bytes", self.measured_bytes);
    visit("allocated_bytes", self.allocated_bytes);
    visit("rss_delta_bytes", self.rss_delta_bytes);
    visit("decode_tok_s", self.decode_tok_s);
  }
};

struct KvProbeRecord {
  int64_t prompt_tokens = 0;    // the priming prompt (the prompts file's first line)
  int64_t window_tokens = 0;    // decode steps timed at each rung
  std::vector<int64_t> ladder;  // as configured
  std::string rss_note;         // what rss_delta_bytes covers
  std::vector<KvProbeRungRecord> rungs;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("prompt_tokens", self.prompt_tokens);
    visit("window_tokens", self.window_tokens);
    visit("ladder", self.ladder);
    visit("rss_note", self.rss_note);
    visit("rungs", self.rungs);
  }
};

// One prompt generated with the row's KV cache and with the baseline's.
struct KvComparisonPromptRecord {
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;        // the row's
  int64_t identical_prefix = 0;  // leading ids equal to the baseline cache's
  double decode_tok_s = 0;
  double baseline_decode_tok_s = 0;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("prompt_tokens", self.prompt_tokens);
    visit("new_tokens", self.new_tokens);
    visit("identical_prefix", self.identical_prefix);
    visit("decode_tok_s", self.decode_tok_s);
    visit("baseline_decode_tok_s", self.baseline_decode_tok_s);
  }
};

// A KV-cache format against a baseline format on the same weights, in the
// same process: bytes per token, decode speed, and how long the greedy
// generations stay identical.
struct KvComparisonRecord {
  std::string baseline_kv_cache;
  int64_t bytes_per_token = 0;
  int64_t baseline_bytes_per_token = 0;
  double bytes_ratio = 0;  // bytes_per_token / baseline_bytes_per_token
  double decode_tok_s = 0;
  double baseline_decode_tok_s = 0;
  int64_t prompts = 0;
  int64_t prompts_identical = 0;  // prompts whose whole generation matched
  std::vector<KvComparisonPromptRecord> per_prompt;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("baseline_kv_cache", self.baseline_kv_cache);
    visit("bytes_per_token", self.bytes_per_token);
    visit("baseline_bytes_per_token", self.baseline_bytes_per_token);
    visit("bytes_ratio", self.bytes_ratio);
    visit("decode_tok_s", self.decode_tok_s);
    visit("baseline_decode_tok_s", self.baseline_decode_tok_s);
    visit("prompts", self.prompts);
    visit("prompts_identical", self.prompts_identical);
    visit("per_prompt", self.per_prompt);
  }
};

struct CompileRecord {
  // The compile rule of the audit, not the reader, reports it missing.
  std::optional<double> first_run_ms;

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("first_run_ms", self.first_run_ms, Presence::kWhenSet);
  }
};

// One attention kernel at one context length: attention.kernels.<name>.runs[].
struct AttentionRunRecord {
  int64_t tokens = 0;   // the context length L
  int64_t queries = 0;  // L for a prefill kernel, 1 for decode
  int64_t flops = 0;    // of one call (docs/RESULTS_SCHEMA.md says what is counted)
  int64_t n_warmup = 0;
  int64_t n_iters = 0;
  std::vector<double> warmup_ms;                // discarded
  std::vector<double> samples_ms;               // timed
  LatencyStatsRecord ms;                        // from samples_ms only
  double gflop_s = 0;                           // flops / ms.p50
  std::optional<double> max_abs_diff_vs_naive;  // absent for the naive kernel itself

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("tokens", self.tokens);
    visit("queries", self.queries);
    visit("flops", self.flops);
    visit("n_warmup", self.n_warmup);
    visit("n_iters", self.n_iters);
    visit("warmup_ms", self.warmup_ms);
    visit("samples_ms", self.samples_ms);
    visit("ms", self.ms);
    visit("gflop_s", self.gflop_s);
    visit("max_abs_diff_vs_naive", self.max_abs_diff_vs_naive, Presence::kWhenSet);
  }
};

struct AttentionKernelRecord {
  std::string entry_point;               // the function timed
  std::string work;                      // what one call computes
  std::vector<AttentionRunRecord> runs;  // one per length of attention.lengths

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("entry_point", self.entry_point);
    visit("work", self.work);
    visit("runs", self.runs);
  }
};

// A kernel's slot: its measurements, or "unavailable: <reason>".
using AttentionKernelSlot = std::variant<std::string, AttentionKernelRecord>;

// The attn_bench rows' section: attention kernels at one layer of the
// model's head shape.
struct AttentionRecord {
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t threads = 0;
  std::string kv_cache;  // the decode kernel's KV cache format
  int64_t seed = 0;      // of the random queries, keys and values
  std::vector<int64_t> lengths;
  std::map<std::string, AttentionKernelSlot> kernels;  // by slot name

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("heads", self.heads);
    visit("kv_heads", self.kv_heads);
    visit("head_dim", self.head_dim);
    visit("threads", self.threads);
    visit("kv_cache", self.kv_cache);
    visit("seed", self.seed);
    visit("lengths", self.lengths);
    visit("kernels", self.kernels);
  }
};

struct ResultRecord {
  int64_t schema_version = kSchemaMajor;
  std::optional<int64_t> schema_minor = kSchemaMinor;  // absent: 0
  std::string status;                                  // "ok" or "failed" (schema_rules)
  std::optional<std::string> error;                    // of a failed cell
  ModelRecord model;
  MethodRecord method;
  std::string started_at;
  std::string finished_at;
  double wall_seconds = 0;
  nlohmann::json hardware;  // profile::hardware_snapshot(), free-form; null when absent
  SettingsRecord settings;
  // A failed cell may lack these: the cell stopped before measuring them.
  std::optional<LoadRecord> load;
  std::optional<LatencyRecord> latency;
  std::optional<GenerationRecord> generation;
  std::optional<PerplexityRecord> perplexity;
  std::optional<MemoryRecord> memory;
  std::optional<SizeRecord> size;
  std::vector<DataUseRecord> data_used;
  std::optional<CompileRecord> compile;                      // only compile_* methods
  std::optional<KvProbeRecord> kv_probe;                     // only kv_probe_cpu
  std::optional<KvComparisonRecord> kv_comparison;           // rows compared with another KV cache
  std::optional<AttentionRecord> attention;                  // only attn_bench_* methods
  std::optional<SpeculativeRecord> speculative;              // only speculative rows
  nlohmann::json method_details = nlohmann::json::object();  // free-form per method

  int64_t minor() const { return schema_minor.value_or(0); }

  template <class Self, class Visit>
  static void fields(Self& self, Visit& visit) {
    visit("schema_version", self.schema_version);
    visit("schema_minor", self.schema_minor, Presence::kWhenSet);
    visit("status", self.status);
    visit("error", self.error);
    visit("model", self.model);
    visit("method", self.method);
    visit("started_at", self.started_at);
    visit("finished_at", self.finished_at);
    visit("wall_seconds", self.wall_seconds);
    visit("hardware", self.hardware, Presence::kWhenSet);  // the audit's hardware rule
    visit("settings", self.settings);
    visit("load", self.load, Presence::kWhenSet);
    visit("latency", self.latency);
    visit("generation", self.generation);
    visit("perplexity", self.perplexity);
    visit("memory", self.memory, Presence::kWhenSet);
    visit("size", self.size, Presence::kWhenSet);
    visit("data_used", self.data_used);
    visit("compile", self.compile);
    visit("kv_probe", self.kv_probe, Presence::kWhenSet);
    visit("kv_comparison", self.kv_comparison, Presence::kWhenSet);
    visit("attention", self.attention, Presence::kWhenSet);
    visit("speculative", self.speculative, Presence::kWhenSet);
    visit("method_details", self.method_details, Presence::kWhenSet);
  }
};

// write: the record as the file's JSON object.
nlohmann::json to_json(const ResultRecord& record);

// read: the outcome of reading one parsed file.
struct ResultRead {
  std::optional<ResultRecord> record;  // set when there is no problem
  // Every missing or mistyped field, each named by its path
  // ("latency.ms.p50 missing"); or the one reason the file was refused.
  std::vector<std::string> problems;
  bool refused = false;  // a newer major schema_version, or none at all
};
ResultRead read_result(const nlohmann::json& data);

// read, for callers that need a record: throws tc::Error "<path>: <problem>".
ResultRecord result_from_json(const nlohmann::json& data, const std::string& path);

// validate: the structural checks a record that read still has to pass:
// its status is one its version allows, an ok cell has what its version
// requires, a failed one says why, every number is >= 0, enumerated fields
// hold one of their values, and model.name / method.name match the file's
// folder and name. One message per broken check, naming the field.
std::vector<std::string> validate_result(const ResultRecord& record, std::string_view model_folder,
                                         std::string_view method_file);

}  // namespace tc::harness
