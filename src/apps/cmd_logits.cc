// tinycompress logits: the next-token logits of every position of an id list.
#include <cstdio>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/cli_common.h"
#include "apps/commands.h"
#include "decode/greedy_decoder.h"
#include "io/hf_hub.h"
#include "io/safetensors.h"
#include "model/loader.h"

namespace tc::apps {

namespace {

struct LogitsOptions {
  ModelOptions model;
  std::string ids;
  std::string out;
};

void run_logits(const LogitsOptions& options) {
  apply_thread_option(options.model);
  const std::vector<int32_t> ids = parse_id_list(options.ids, "--ids");
  const std::string dir = io::resolve_model_dir(options.model.model);
  model::Qwen2Model model = model::load_qwen2(dir, model::parse_weight_format(options.model.dtype));
  auto cache = model.new_cache();
  const std::vector<float> logits = model.forward(ids, *cache, model::LogitsFor::kAllTokens);
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t vocab = model.config().vocab_size;

  if (!options.out.empty()) {
    std::vector<int64_t> ids64(ids.begin(), ids.end());
    io::write_safetensors(
        options.out,
        {{"input_ids",
          DType::kI64,
          {n},
          {reinterpret_cast<const uint8_t*>(ids64.data()), ids64.size() * sizeof(int64_t)}},
         {"logits",
          DType::kF32,
          {n, vocab},
          {reinterpret_cast<const uint8_t*>(logits.data()), logits.size() * sizeof(float)}}},
        {{"model", dir}, {"dtype", options.model.dtype}});
    std::fprintf(stderr, "wrote logits [%ld, %ld] to %s\n", static_cast<long>(n),
                 static_cast<long>(vocab), options.out.c_str());
    return;
  }
  // Without --out: one JSON object with the argmax and the logits of each position.
  nlohmann::json out = {{"ids", ids}, {"shape", {n, vocab}}};
  nlohmann::json argmax = nlohmann::json::array(), rows = nlohmann::json::array();
  for (int64_t t = 0; t < n; ++t) {
    const std::span<const float> row(logits.data() + t * vocab, static_cast<size_t>(vocab));
    argmax.push_back(decode::argmax(row));
    rows.push_back(std::vector<float>(row.begin(), row.end()));
  }
  out["argmax"] = std::move(argmax);
  out["logits"] = std::move(rows);
  std::printf("%s\n", out.dump().c_str());
}

}  // namespace

void register_logits(CLI::App& app) {
  auto options = std::make_shared<LogitsOptions>();
  CLI::App* command = app.add_subcommand(
      "logits",
      "Forward pass over a list of token ids; prints the logits of every position as "
      "JSON, or writes them to a safetensors file");
  add_model_options(*command, options->model);
  command->add_option("--ids", options->ids, "Comma-separated token ids, e.g. 1,2,3")->required();
  command->add_option("--out", options->out,
                      "Write input_ids [n] and logits [n, vocab] (F32) to this .safetensors file");
  command->callback([options] { run_logits(*options); });
}

}  // namespace tc::apps
