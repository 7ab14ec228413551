#include "harness/cell.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/sha256.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "eval/generation_bench.h"
#include "eval/latency.h"
#include "eval/perplexity.h"
#include "io/atomic_file.h"
#include "io/hf_hub.h"
#include "io/safetensors.h"
#include "profile/rss_sampler.h"
#include "tokenizer/tokenizer.h"

namespace tc::harness {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

json model_json(const ModelEntry& entry, const std::string& dir, const model::Qwen2Model* model) {
  json out = {{"name", entry.name}, {"path", dir}, {"role", entry.role}};
  if (model == nullptr) return out;
  const model::ModelConfig& c = model->config();
  // Parameter count from the shapes (tied embeddings counted once).
  const int64_t per_layer = 2 * c.hidden_size +                             // norms
                            c.hidden_size * (c.q_dim() + 2 * c.kv_dim()) +  // q, k, v
                            c.q_dim() + 2 * c.kv_dim() +                    // biases
                            c.q_dim() * c.hidden_size +                     // o
                            3 * c.hidden_size * c.intermediate_size;        // gate, up, down
  const int64_t parameters = c.vocab_size * c.hidden_size * (c.tie_word_embeddings ? 1 : 2) +
                             c.hidden_size + c.num_layers * per_layer;
  out["config"] = {{"hidden_size", c.hidden_size},   {"intermediate_size", c.intermediate_size},
                   {"num_layers", c.num_layers},     {"num_heads", c.num_heads},
                   {"num_kv_heads", c.num_kv_heads}, {"head_dim", c.head_dim},
                   {"vocab_size", c.vocab_size},     {"tie_word_embeddings", c.tie_word_embeddings},
                   {"parameters", parameters}};
  return out;
}

// Bytes of the checkpoint's weight files as stored.
uint64_t weights_on_disk(const std::string& dir) {
  return io::TensorStore::open_model_dir(dir).bytes_on_disk();
}

// Progress on stderr: a rewritten line on a terminal, every ~10% otherwise.
class Progress {
 public:
  Progress(std::string label, bool enabled)
      : label_(std::move(label)), enabled_(enabled), terminal_(::isatty(STDERR_FILENO) != 0) {}
  void operator()(int64_t done, int64_t total) {
    if (!enabled_) return;
    const double seconds = clock_.seconds();
    const double eta =
        done > 0 ? seconds / static_cast<double>(done) * static_cast<double>(total - done) : 0;
    const int percent = static_cast<int>(100 * done / std::max<int64_t>(total, 1));
    if (terminal_) {
      std::fprintf(stderr, "\r    %s: %ld/%ld windows (%d%%), %.0f s, ETA %.0f s   ",
                   label_.c_str(), static_cast<long>(done), static_cast<long>(total), percent,
                   seconds, eta);
      if (done == total) std::fprintf(stderr, "\n");
    } else if (percent >= next_percent_ || done == total) {
      std::fprintf(stderr, "    %s: %ld/%ld windows (%d%%), %.0f s, ETA %.0f s\n", label_.c_str(),
                   static_cast<long>(done), static_cast<long>(total), percent, seconds, eta);
      next_percent_ = percent + 10;
    }
  }

 private:
  std::string label_;
  bool enabled_;
  bool terminal_;
  int next_percent_ = 10;
  Stopwatch clock_;
};

json latency_json(const eval::LatencyResult& r) {
  return {{"seq_len", r.seq_len},
          {"n_warmup", r.n_warmup},
          {"n_iters", r.n_iters},
          {"warmup_ms", r.warmup_ms},
          {"samples_ms", r.samples_ms},
          {"ms",
           {{"mean", r.ms.mean},
            {"p50", r.ms.p50},
            {"p90", r.ms.p90},
            {"p99", r.ms.p99},
            {"min", r.ms.min},
            {"max", r.ms.max}}}};
}

json generation_json(const eval::GenerationBenchResult& r, const std::string& prompts_file,
                     int64_t max_new_tokens) {
  json per_prompt = json::array();
  for (const auto& p : r.per_prompt) {
    const double seconds = p.prefill_seconds + p.decode_seconds;
    per_prompt.push_back(
        {{"prompt_tokens", p.prompt_tokens},
         {"new_tokens", p.new_tokens},
         {"prefill_seconds", p.prefill_seconds},
         {"decode_seconds", p.decode_seconds},
         {"seconds", seconds},
         {"tok_s", seconds > 0 ? static_cast<double>(p.new_tokens) / seconds : 0.0},
         {"prefill_tok_s",
          p.prefill_seconds > 0 ? static_cast<double>(p.prompt_tokens) / p.prefill_seconds : 0.0},
         {"decode_tok_s",
          p.decode_seconds > 0 ? static_cast<double>(p.decode_steps) / p.decode_seconds : 0.0}});
  }
  std::ifstream file(prompts_file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return {{"prompts_file", prompts_file},
          {"prompts_sha256", sha256_hex(bytes)},
          {"max_new_tokens", max_new_tokens},
          {"per_prompt", per_prompt},
          {"new_tokens", r.new_tokens},
          {"seconds", r.seconds},
          {"tok_s", r.tok_s},
          {"prefill_tok_s", r.prefill_tok_s},
          {"decode_tok_s", r.decode_tok_s}};
}

}  // namespace

std::string result_path(const std::string& results_dir, const std::string& model,
                        const std::string& method) {
  return (fs::path(results_dir) / "raw" / model / (method + ".json")).string();
}

void write_result(const std::string& path, const json& result) {
  fs::create_directories(fs::path(path).parent_path());
  io::write_file_atomic(path, result.dump(2) + "\n");
}

bool cell_done(const std::string& path) {
  std::ifstream file(path);
  if (!file) return false;
  const json result = json::parse(file, nullptr, /*allow_exceptions=*/false);
  return !result.is_discarded() && result.is_object() && result.value("status", "") == "ok";
}

json run_cell(const CellInputs& in) {
  const ModelEntry& entry = *in.model;
  const Method& method = *in.method;
  const HarnessSettings& s = entry.settings;
  Stopwatch wall;
  profile::PeakRssSampler memory;

  json result = {{"schema_version", kResultSchemaVersion},
                 {"status", "failed"},
                 {"error", nullptr},
                 {"model", {{"name", entry.name}, {"path", entry.path}, {"role", entry.role}}},
                 {"method",
                  {{"name", method.name},
                   {"description", method.description},
                   {"weight_format", method.weight_format},
                   {"device", method.device},
                   {"kv_cache", std::string(model::kv_format_name(method.kv_cache))}}},
                 {"started_at", utc_now()},
                 {"hardware", in.hardware},
                 {"settings",
                  {{"n_warmup", s.n_warmup},
                   {"n_iters", s.n_iters},
                   {"seq_len_for_latency", s.seq_len_for_latency},
                   {"ppl_max_length", s.ppl_max_length},
                   {"ppl_stride", s.ppl_stride},
                   {"max_new_tokens", s.max_new_tokens},
                   {"threads", ThreadPool::global().size()}}},
                 {"latency", nullptr},
                 {"generation", nullptr},
                 {"perplexity", nullptr},
                 {"compile", nullptr},
                 {"data_used", json::array()},
                 {"method_details", json::object()}};
  try {
    const std::string dir = io::resolve_model_dir(entry.path);
    Stopwatch load_clock;
    PreparedModel prepared = method.prepare({dir, in.calibration_source});
    const auto tokenizer = tokenizer::Tokenizer::from_model_dir(dir);
    model::Qwen2Model& model = *prepared.model;
    result["load"] = {{"seconds", load_clock.seconds()}};
    result["model"] = model_json(entry, dir, &model);
    result["method_details"] = prepared.details;
    result["data_used"] = prepared.data_used;
    result["size"] = {{"weights_in_memory_bytes", model.weight_bytes()},
                      {"on_disk_bytes", weights_on_disk(dir)}};

    const std::vector<int32_t> eval_ids = tokenizer.encode(in.eval_text->text);
    if (method.measures_latency) {
      if (static_cast<int64_t>(eval_ids.size()) < s.seq_len_for_latency) {
        fail("evaluation text has {} tokens, fewer than seq_len_for_latency {}", eval_ids.size(),
             s.seq_len_for_latency);
      }
      const auto latency = eval::measure_forward_latency(
          model, std::span(eval_ids).first(static_cast<size_t>(s.seq_len_for_latency)),
          method.kv_cache, s.n_warmup, s.n_iters);
      result["latency"] = latency_json(latency);
    }
    if (method.measures_generation) {
      const auto generation =
          eval::measure_generation(model, tokenizer, in.prompts, s.max_new_tokens, method.kv_cache);
      result["generation"] = generation_json(generation, in.prompts_file, s.max_new_tokens);
    }
    if (method.measures_perplexity) {
      Progress progress("perplexity", in.show_progress);
      const auto ppl = eval::sliding_window_perplexity(
          model, eval_ids,
          {.max_length = s.ppl_max_length,
           .stride = s.ppl_stride,
           .kv_cache = eval::perplexity_kv_cache(method.kv_cache),
           .progress = [&](int64_t done, int64_t total) { progress(done, total); }});
      result["perplexity"] = {
          {"dataset", in.eval_text->dataset}, {"split", in.eval_text->split},
          {"file", in.eval_text->file},       {"sha256", in.eval_text->sha256},
          {"n_tokens", eval_ids.size()},      {"max_length", s.ppl_max_length},
          {"stride", s.ppl_stride},           {"ppl", ppl.ppl},
          {"nll_sum", ppl.nll_sum},           {"scored_tokens", ppl.scored_tokens},
          {"windows", ppl.windows},           {"seconds", ppl.seconds}};
    }
    result["status"] = "ok";
  } catch (const std::exception& error) {
    result["status"] = "failed";
    result["error"] = error.what();
  }
  result["memory"] = profile::to_json(memory.stop());
  result["finished_at"] = utc_now();
  result["wall_seconds"] = wall.seconds();
  return result;
}

}  // namespace tc::harness
