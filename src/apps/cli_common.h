// Options and helpers shared by the subcommands that run a model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace tc::apps {

struct ModelOptions {
  std::string model;  // folder or Hugging Face id
  std::string dtype = "fp32";
  size_t threads = 0;  // 0: one per hardware thread
};

// Adds --model, --dtype and --threads to a subcommand.
void add_model_options(CLI::App& command, ModelOptions& options);
// Sizes the global thread pool from --threads; call before running a model.
void apply_thread_option(const ModelOptions& options);

// The KV cache format of generate: f16 by default, as in llama.cpp:
// long-context decode reads half the bytes, and the greedy goldens hold with
// it. bench and the harness use the method's format (harness::Method::
// kv_cache: f32 for every method so far, as the cells are compared with
// transformers' fp32 numerics); bench's --kv-cache overrides it.
inline constexpr const char* kDefaultKvCache = "f16";
// Adds --kv-cache (f32 or f16) to a subcommand.
CLI::Option* add_kv_cache_option(CLI::App& command, std::string& kv_cache);

// Parses "1,2,3" into ids; throws tc::Error naming the bad entry.
std::vector<int32_t> parse_id_list(const std::string& text, const std::string& flag);

}  // namespace tc::apps
