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
#include "harness/results_reader.h"
#include "io/atomic_file.h"
#include "io/hf_hub.h"
#include "io/safetensors.h"
#include "model/block_tensors.h"
#include "profile/rss_sampler.h"
#include "tokenizer/tokenizer.h"

namespace tc::harness {

namespace fs = std::filesystem;
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

ModelConfigRecord config_record(const model::ModelConfig& c) {
  // Parameter count from the shapes (tied embeddings counted once): a
  // block's from its tensor list, plus the embedding and the final norm.
  int64_t per_layer = 0;
  for (const model::BlockTensor& tensor : model::block_tensors()) {
    int64_t elements = 1;
    for (const int64_t d : model::block_tensor_shape(c, tensor)) elements *= d;
    per_layer += elements;
  }
  const int64_t parameters = c.vocab_size * c.hidden_size * (c.tie_word_embeddings ? 1 : 2) +
                             c.hidden_size + c.num_layers * per_layer;
  return {.hidden_size = c.hidden_size,
          .intermediate_size = c.intermediate_size,
          .num_layers = c.num_layers,
          .num_heads = c.num_heads,
          .num_kv_heads = c.num_kv_heads,
          .head_dim = c.head_dim,
          .vocab_size = c.vocab_size,
          .tie_word_embeddings = c.tie_word_embeddings,
          .parameters = parameters};
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

LatencyRecord latency_record(const eval::LatencyResult& r) {
  return {.seq_len = r.seq_len,
          .n_warmup = r.n_warmup,
          .n_iters = r.n_iters,
          .warmup_ms = r.warmup_ms,
          .samples_ms = r.samples_ms,
          .ms = stats_record_of(r.ms)};
}

GenerationRecord generation_record(const eval::GenerationBenchResult& r,
                                   const std::string& prompts_file, int64_t max_new_tokens) {
  GenerationRecord out;
  for (const auto& p : r.per_prompt) {
    const double seconds = p.prefill_seconds + p.decode_seconds;
    out.per_prompt.push_back(
        {.prompt_tokens = p.prompt_tokens,
         .new_tokens = p.new_tokens,
         .prefill_seconds = p.prefill_seconds,
         .decode_seconds = p.decode_seconds,
         .seconds = seconds,
         .tok_s = seconds > 0 ? static_cast<double>(p.new_tokens) / seconds : 0.0,
         .prefill_tok_s =
             p.prefill_seconds > 0 ? static_cast<double>(p.prompt_tokens) / p.prefill_seconds : 0.0,
         .decode_tok_s =
             p.decode_seconds > 0 ? static_cast<double>(p.decode_tokens) / p.decode_seconds : 0.0});
  }
  std::ifstream file(prompts_file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  out.prompts_file = prompts_file;
  out.prompts_sha256 = sha256_hex(bytes);
  out.max_new_tokens = max_new_tokens;
  out.new_tokens = r.new_tokens;
  out.seconds = r.seconds;
  out.tok_s = r.tok_s;
  out.prefill_tok_s = r.prefill_tok_s;
  out.decode_tok_s = r.decode_tok_s;
  out.draft_tokens_proposed = r.draft_tokens_proposed;
  out.draft_tokens_accepted = r.draft_tokens_accepted;
  return out;
}

}  // namespace

std::string result_path(const std::string& results_dir, const std::string& model,
                        const std::string& method) {
  return (fs::path(results_dir) / "raw" / model / (method + ".json")).string();
}

void write_result(const std::string& path, const ResultRecord& result) {
  fs::create_directories(fs::path(path).parent_path());
  io::write_file_atomic(path, to_json(result).dump(2) + "\n");
}

bool cell_done(const std::string& path) {
  const ResultFile file = read_result_file(path, "", "");
  return file.record && file.record->status == "ok";
}

ResultRecord run_cell(const CellInputs& in) {
  const ModelEntry& entry = *in.model;
  const Method& method = *in.method;
  const HarnessSettings& s = entry.settings;
  Stopwatch wall;
  profile::PeakRssSampler memory;

  ResultRecord result;
  result.status = "failed";
  result.model.name = entry.name;
  result.model.path = entry.path;
  result.model.role = entry.role;
  result.method = {.name = method.name,
                   .description = method.description,
                   .weight_format = method.weight_format,
                   .device = method.device,
                   .kv_cache = std::string(model::kv_format_name(method.kv_cache))};
  result.started_at = utc_now();
  result.hardware = in.hardware;
  result.settings = {.n_warmup = s.n_warmup,
                     .n_iters = s.n_iters,
                     .seq_len_for_latency = s.seq_len_for_latency,
                     .ppl_max_length = s.ppl_max_length,
                     .ppl_stride = s.ppl_stride,
                     .max_new_tokens = s.max_new_tokens,
                     .threads = static_cast<int64_t>(ThreadPool::global().size())};
  try {
    const std::string dir = io::resolve_model_dir(entry.path);
    Stopwatch load_clock;
    MethodContext context{.model_dir = dir, .calibration_source = in.calibration_source};
    if (method.needs_draft && in.draft != nullptr) {
      context.draft_name = in.draft->name;
      context.draft_dir = io::resolve_model_dir(in.draft->path);
    }
    PreparedModel prepared = method.prepare(context);
    const auto tokenizer = tokenizer::Tokenizer::from_model_dir(dir);
    model::Qwen2Model& model = *prepared.model;
    result.load = LoadRecord{.seconds = load_clock.seconds()};
    result.model.path = dir;
    result.model.config = config_record(model.config());
    result.method_details = prepared.details;
    result.data_used =
        data_used_from_json(prepared.data_used, "method " + method.name + " data_used");
    // A method with a draft holds both models: its size is both.
    size_t in_memory = model.weight_bytes();
    uint64_t on_disk = weights_on_disk(dir);
    if (prepared.draft) {
      in_memory += prepared.draft->weight_bytes();
      on_disk += weights_on_disk(context.draft_dir);
    }
    result.size = SizeRecord{.weights_in_memory_bytes = static_cast<int64_t>(in_memory),
                             .on_disk_bytes = static_cast<int64_t>(on_disk)};

    const std::vector<int32_t> eval_ids = tokenizer.encode(in.eval_text->text);
    if (method.measures_latency) {
      if (static_cast<int64_t>(eval_ids.size()) < s.seq_len_for_latency) {
        fail("evaluation text has {} tokens, fewer than seq_len_for_latency {}", eval_ids.size(),
             s.seq_len_for_latency);
      }
      const auto latency = eval::measure_forward_latency(
          model, std::span(eval_ids).first(static_cast<size_t>(s.seq_len_for_latency)),
          method.kv_cache, s.n_warmup, s.n_iters);
      result.latency = latency_record(latency);
    }
    if (method.measures_generation) {
      const auto decoder = method.make_decoder(prepared, {.kv_format = method.kv_cache});
      const auto generation =
          eval::measure_generation(*decoder, tokenizer, in.prompts, s.max_new_tokens);
      result.generation = generation_record(generation, in.prompts_file, s.max_new_tokens);
    }
    if (method.measures_perplexity) {
      Progress progress("perplexity", in.show_progress);
      const auto ppl = eval::sliding_window_perplexity(
          model, eval_ids,
          {.max_length = s.ppl_max_length,
           .stride = s.ppl_stride,
           .kv_cache = eval::perplexity_kv_cache(method.kv_cache),
           .progress = [&](int64_t done, int64_t total) { progress(done, total); }});
      result.perplexity = PerplexityRecord{.dataset = in.eval_text->dataset,
                                           .split = in.eval_text->split,
                                           .file = in.eval_text->file,
                                           .sha256 = in.eval_text->sha256,
                                           .n_tokens = static_cast<int64_t>(eval_ids.size()),
                                           .max_length = s.ppl_max_length,
                                           .stride = s.ppl_stride,
                                           .ppl = ppl.ppl,
                                           .nll_sum = ppl.nll_sum,
                                           .scored_tokens = ppl.scored_tokens,
                                           .windows = ppl.windows,
                                           .seconds = ppl.seconds};
    }
    if (method.measure_row) {
      method.measure_row({.prepared = prepared,
                          .tokenizer = tokenizer,
                          .prompts = in.prompts,
                          .eval_ids = eval_ids,
                          .settings = s,
                          .show_progress = in.show_progress},
                         result);
    }
    result.status = "ok";
  } catch (const std::exception& error) {
    result.status = "failed";
    result.error = error.what();
  }
  result.memory = memory_record_of(memory.stop());
  result.finished_at = utc_now();
  result.wall_seconds = wall.seconds();
  return result;
}

}  // namespace tc::harness
