#include "eval/kv_probe.h"

#include "core/error.h"
#include "core/timer.h"
#include "decode/greedy_decoder.h"
#include "profile/rss_sampler.h"

namespace tc::eval {

int64_t analytic_kv_bytes_per_token(const model::ModelConfig& config, model::KvFormat format) {
  const int64_t elements = config.num_layers * 2 * config.num_kv_heads * config.head_dim;
  switch (format) {
    case model::KvFormat::kF32:
      return elements * 4;
    case model::KvFormat::kF16:
      return elements * 2;
    case model::KvFormat::kI8:
      return elements * 1 + config.num_layers * 2 * config.num_kv_heads * 2;
  }
  fail("KV cache format {} has no analytic size", static_cast<int>(format));
}

std::vector<int64_t> reachable_rungs(const std::vector<int64_t>& ladder, int64_t prompt_tokens,
                                     int64_t max_positions, int64_t window) {
  std::vector<int64_t> rungs;
  for (const int64_t tokens : ladder) {
    if (tokens > prompt_tokens && tokens + window <= max_positions) rungs.push_back(tokens);
  }
  return rungs;
}

namespace {

int64_t rss_now() { return static_cast<int64_t>(profile::current_rss_bytes().value_or(0)); }

}  // namespace

std::vector<KvProbeRung> probe_kv_cache(model::Qwen2Model& model, std::span<const int32_t> prompt,
                                        const KvProbeOptions& options) {
  if (prompt.empty()) fail("kv probe: the prompt is empty");
  const model::ModelConfig& config = model.config();
  const std::vector<int64_t> rungs =
      reachable_rungs(options.ladder, static_cast<int64_t>(prompt.size()),
                      config.max_position_embeddings, options.window);
  const auto total = static_cast<int64_t>(rungs.size() * options.formats.size());
  std::vector<KvProbeRung> out;
  for (const model::KvFormat format : options.formats) {
    const int64_t rss_start = rss_now();
    decode::GreedyDecoder decoder(model, {.kv_format = format});
    decoder.prefill(prompt);
    const int64_t per_token = analytic_kv_bytes_per_token(config, format);
    for (const int64_t tokens : rungs) {
      while (decoder.kv_cache().length() < tokens) decoder.step();
      const model::KvCache& cache = decoder.kv_cache();
      KvProbeRung rung{.tokens = tokens,
                       .format = format,
                       .analytic_bytes_per_token = per_token,
                       .analytic_bytes = per_token * tokens,
                       .measured_bytes = static_cast<int64_t>(cache.stored_bytes()),
                       .allocated_bytes = static_cast<int64_t>(cache.allocated_bytes()),
                       .rss_delta_bytes = rss_now() - rss_start};
      Stopwatch clock;
      for (int64_t i = 0; i < options.window; ++i) decoder.step();
      rung.decode_tok_s = static_cast<double>(options.window) / clock.seconds();
      out.push_back(rung);
      if (options.progress) options.progress(static_cast<int64_t>(out.size()), total);
    }
  }
  return out;
}

}  // namespace tc::eval
