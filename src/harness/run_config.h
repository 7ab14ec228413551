// run_config.toml: which models, which harness settings, which data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tc::harness {

// Measurement settings; each model may override any of them.
struct HarnessSettings {
  int64_t n_warmup = 2;
  int64_t n_iters = 10;
  int64_t seq_len_for_latency = 128;
  int64_t ppl_max_length = 256;
  int64_t ppl_stride = 128;
  int64_t max_new_tokens = 32;
  // Context lengths the KV-cache probe (kv_probe_cpu) measures at,
  // increasing; rungs past the model's max_position_embeddings are skipped.
  std::vector<int64_t> kv_probe_ladder = {128, 256, 512, 1024, 2048, 4096};
};

struct ModelEntry {
  std::string name;  // results/raw/<name>/...
  std::string path;  // resolved folder, or the Hugging Face id (key hf_id) to look up
  std::string role;  // target, draft, teacher, student (informational for now)
  // The model (another entry's name) that proposes tokens for this one in
  // speculative decoding; "" when none. Methods that need one skip models
  // without it (Method::needs_draft).
  std::string draft;
  bool in_default_run = true;
  HarnessSettings settings;  // harness settings with this model's overrides applied
};

struct RunConfig {
  std::string file;      // the config file read
  std::string base_dir;  // its folder: relative paths are resolved against it
  HarnessSettings defaults;
  int64_t threads = 0;       // kernel threads for the whole run; 0: one per hardware thread
  std::string prompts_file;  // resolved path
  std::string results_dir;   // resolved path
  // Evaluation: the first of these holding a complete data set is used.
  std::vector<std::string> eval_candidates;
  std::string eval_split = "test";
  // Calibration/training data for methods that need it.
  std::vector<std::string> calibration_candidates;
  std::string calibration_split = "train";
  std::vector<ModelEntry> models;
  std::vector<std::string> default_methods;

  const ModelEntry& model(const std::string& name) const;  // tc::Error if unknown
};

// Reads and validates a run_config.toml; errors name the file and the key
// (a `draft` naming no model of the file, or the model itself, included).
RunConfig load_run_config(const std::string& path);

}  // namespace tc::harness
