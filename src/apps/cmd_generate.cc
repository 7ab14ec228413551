// tinycompress generate: greedy generation from a prompt.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/cli_common.h"
#include "apps/commands.h"
#include "decode/greedy_decoder.h"
#include "io/hf_hub.h"
#include "model/kv_cache.h"
#include "model/loader.h"
#include "tokenizer/tokenizer.h"

namespace tc::apps {

namespace {

struct GenerateOptions {
  ModelOptions model;
  std::string prompt;
  int64_t max_new_tokens = 32;
  std::string kv_cache = kDefaultKvCache;
  bool json = false;
  bool profile = false;
};

// One line per part of the forward pass: seconds and share of the total.
nlohmann::json profile_json(const model::ForwardProfile& p) {
  const double total = p.total();
  nlohmann::json parts = nlohmann::json::object();
  const std::pair<const char*, double> entries[] = {{"embedding", p.embedding},
                                                    {"norms", p.norms},
                                                    {"qkv_projection", p.qkv_projection},
                                                    {"rope", p.rope},
                                                    {"attention", p.attention},
                                                    {"output_projection", p.output_projection},
                                                    {"mlp", p.mlp},
                                                    {"lm_head", p.lm_head},
                                                    {"elementwise", p.elementwise}};
  for (const auto& [name, seconds] : entries) {
    parts[name] = {{"seconds", seconds}, {"share", total > 0 ? seconds / total : 0.0}};
  }
  return {{"forward_calls", p.calls}, {"seconds", total}, {"parts", parts}};
}

void print_profile(const char* phase, const model::ForwardProfile& p) {
  const nlohmann::json summary = profile_json(p);
  std::fprintf(stderr, "%s: %.3f s over %ld forward calls\n", phase, p.total(),
               static_cast<long>(p.calls));
  for (const auto& [name, part] : summary["parts"].items()) {
    std::fprintf(stderr, "  %-18s %8.3f s  %5.1f%%\n", name.c_str(), part["seconds"].get<double>(),
                 100.0 * part["share"].get<double>());
  }
}

void run_generate(const GenerateOptions& options) {
  apply_thread_option(options.model);
  const std::string dir = io::resolve_model_dir(options.model.model);
  const auto tokenizer = tokenizer::Tokenizer::from_model_dir(dir);
  model::Qwen2Model model = model::load_qwen2(dir, model::parse_weight_format(options.model.dtype));

  const std::vector<int32_t> prompt_ids = tokenizer.encode(options.prompt);
  decode::GenerationProfile profile;
  decode::GreedyDecoder decoder(model, {.kv_format = model::parse_kv_format(options.kv_cache),
                                        .profile = options.profile ? &profile : nullptr});
  const decode::GenerationResult result =
      decode::generate(decoder, prompt_ids, options.max_new_tokens);
  const decode::DecodeStats& stats = result.stats;

  // The end-of-text token ends the answer; it is not part of the text.
  std::vector<int32_t> text_ids = result.new_ids;
  if (result.hit_eos && !text_ids.empty()) text_ids.pop_back();
  const std::string text = tokenizer.decode(text_ids);
  const double prefill_tok_s = static_cast<double>(prompt_ids.size()) / stats.prefill_seconds;
  const double decode_tok_s = stats.decode_tokens > 0
                                  ? static_cast<double>(stats.decode_tokens) / stats.decode_seconds
                                  : 0.0;
  if (options.json) {
    nlohmann::json out = {{"prompt_ids", prompt_ids},
                          {"new_ids", result.new_ids},
                          {"text", text},
                          {"prefill_tok_s", prefill_tok_s},
                          {"decode_tok_s", decode_tok_s},
                          {"dtype", options.model.dtype},
                          {"kv_cache", options.kv_cache},
                          {"stopped_at_eos", result.hit_eos}};
    if (options.profile) {
      out["profile"] = {{"prefill", profile_json(profile.prefill)},
                        {"decode", profile_json(profile.decode)}};
    }
    // Invalid UTF-8 cannot occur (decode replaces it), so dump cannot throw.
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%s%s\n", options.prompt.c_str(), text.c_str());
  std::fprintf(stderr,
               "[%zu prompt tokens, %zu new tokens; prefill %.1f tok/s, decode %.1f tok/s, %s]\n",
               prompt_ids.size(), result.new_ids.size(), prefill_tok_s, decode_tok_s,
               options.model.dtype.c_str());
  if (options.profile) {
    print_profile("prefill", profile.prefill);
    print_profile("decode", profile.decode);
  }
}

}  // namespace

void register_generate(CLI::App& app) {
  auto options = std::make_shared<GenerateOptions>();
  CLI::App* command = app.add_subcommand(
      "generate",
      "Greedy generation from a prompt with the KV cache; stops at end-of-text or "
      "--max-new-tokens");
  add_model_options(*command, options->model);
  command->add_option("--prompt", options->prompt, "Prompt text")->required();
  command->add_option("--max-new-tokens", options->max_new_tokens, "Most tokens to generate")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_flag(
      "--json", options->json,
      "Print one JSON object: prompt_ids, new_ids, text, prefill_tok_s, decode_tok_s");
  add_kv_cache_option(*command, options->kv_cache);
  command->add_flag("--profile", options->profile,
                    "Time each part of the forward pass (projections, attention, MLP, lm_head...) "
                    "and report where prefill and decode time goes");
  command->callback([options] { run_generate(*options); });
}

}  // namespace tc::apps
