// The KV-cache probe: how the cache's memory and the decode speed grow with
// context, per cache format. One greedy sequence per format is primed on a
// prompt and extended step by step to each length of a ladder (end-of-text
// does not stop it); at each rung the cache reports its bytes and a short
// window of steps is timed.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "model/kv_cache.h"
#include "model/qwen2.h"

namespace tc::eval {

// Bytes per token the format should take by its definition:
// layers × 2 (key, value) × kv_heads × head_dim × bytes per element, plus,
// for int8, layers × 2 × kv_heads fp16 scales. Written from the format's
// definition, apart from the cache's own accounting, so the two can be
// compared.
int64_t analytic_kv_bytes_per_token(const model::ModelConfig& config, model::KvFormat format);

struct KvProbeRung {
  int64_t tokens = 0;  // positions in the cache when measured
  model::KvFormat format = model::KvFormat::kF32;
  int64_t analytic_bytes_per_token = 0;
  int64_t analytic_bytes = 0;   // × tokens
  int64_t measured_bytes = 0;   // KvCache::stored_bytes()
  int64_t allocated_bytes = 0;  // KvCache::allocated_bytes()
  int64_t rss_delta_bytes = 0;  // process RSS now minus at the start of this format's probe
  double decode_tok_s = 0;      // over the window of steps that follows
};

struct KvProbeOptions {
  std::vector<int64_t> ladder;  // increasing context lengths
  std::vector<model::KvFormat> formats;
  int64_t window = 16;  // decode steps timed at each rung
  // Called after each rung (rungs done, rungs in all).
  std::function<void(int64_t, int64_t)> progress;
};

// The rungs of `ladder` a model can reach: those at most
// max_position_embeddings − window (the window's steps must fit too) and
// past the prompt.
std::vector<int64_t> reachable_rungs(const std::vector<int64_t>& ladder, int64_t prompt_tokens,
                                     int64_t max_positions, int64_t window);

// Runs the probe with `model` (greedy, one sequence per format, in the
// order given), over the rungs reachable_rungs() keeps. tc::Error for an
// empty prompt.
std::vector<KvProbeRung> probe_kv_cache(model::Qwen2Model& model, std::span<const int32_t> prompt,
                                        const KvProbeOptions& options);

}  // namespace tc::eval
