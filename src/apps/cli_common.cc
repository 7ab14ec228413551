#include "apps/cli_common.h"

#include <charconv>

#include "core/error.h"
#include "core/thread_pool.h"

namespace tc::apps {

void add_model_options(CLI::App& command, ModelOptions& options) {
  command
      .add_option("--model", options.model,
                  "Model folder (Hugging Face layout) or a Hugging "
                  "Face id found in the local cache, e.g. Qwen/Qwen2.5-0.5B")
      ->required();
  command
      .add_option("--dtype", options.dtype,
                  "How the weights are held: fp32, bf16 or fp16 (computation is fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->capture_default_str();
  command
      .add_option("--threads", options.threads,
                  "Threads for the kernels (0 = one per hardware thread)")
      ->capture_default_str();
}

CLI::Option* add_kv_cache_option(CLI::App& command, std::string& kv_cache) {
  return command
      .add_option("--kv-cache", kv_cache,
                  "How the KV cache stores keys and values: f16 (half the bytes long-context "
                  "decode reads; llama.cpp's default), f32 (fp32 numerics, as the harness "
                  "keeps) or int8 (one fp16 scale per token and kv head; about a quarter of "
                  "f32's bytes)")
      ->check(CLI::IsMember({"f32", "f16", "int8"}))
      ->capture_default_str();
}

void apply_thread_option(const ModelOptions& options) {
  ThreadPool::set_global_threads(options.threads);
}

std::vector<int32_t> parse_id_list(const std::string& text, const std::string& flag) {
  std::vector<int32_t> ids;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    std::string_view item(text.data() + begin, end - begin);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    int32_t id = 0;
    const auto [rest, error] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || error != std::errc() || rest != item.data() + item.size() || id < 0) {
      fail("{}: '{}' is not a token id (expected comma-separated non-negative integers)", flag,
           std::string(item));
    }
    ids.push_back(id);
    begin = end + 1;
  }
  return ids;
}

}  // namespace tc::apps
