// The method registry: the single place a method is named and described.
//
// A method is a value: a name (the row key in the results), what it does,
// how it turns a checkpoint folder into a runnable model, how it decodes
// with it, and which measurements apply. Adding a method adds an entry here
// and, for its implementation, a file in quant/, decode/, export/ or train/.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decode/decoder.h"
#include "harness/result_record.h"
#include "harness/run_config.h"
#include "model/qwen2.h"
#include "tokenizer/tokenizer.h"

namespace tc::harness {

// What a method may look at while preparing a model.
struct MethodContext {
  std::string model_dir;  // resolved checkpoint folder
  // Data set folder or file whose train split feeds methods that need data
  // (calibration, training); "" when none is configured.
  std::string calibration_source;
  // The model's draft (its run_config `draft`): the name and the resolved
  // folder; both "" when it has none or the method does not use one.
  std::string draft_name = {};
  std::string draft_dir = {};
};

struct PreparedModel {
  std::unique_ptr<model::Qwen2Model> model;  // the model measured (a speculative method's target)
  // The model that proposes tokens for `model` to verify, and its name in
  // run_config; null and "" for methods that decode with one model.
  std::unique_ptr<model::Qwen2Model> draft;
  std::string draft_name;
  nlohmann::json details = nlohmann::json::object();   // -> result "method_details"
  nlohmann::json data_used = nlohmann::json::array();  // -> result "data_used"
};

// Builds the decoder that generates with a prepared model (which must
// outlive it). Speculative decoding pairs `draft` with `model` here.
using DecoderFactory = std::function<std::unique_ptr<decode::Decoder>(
    const PreparedModel&, const decode::DecoderOptions&)>;

// decode::GreedyDecoder on `prepared.model`: the factory of every method
// with one model.
std::unique_ptr<decode::Decoder> make_greedy_decoder(const PreparedModel& prepared,
                                                     const decode::DecoderOptions& options);

// What a row's own measurement (Method::measure_row) may use: the cell's
// prepared model, inputs and settings.
struct RowInputs {
  const PreparedModel& prepared;
  const tokenizer::Tokenizer& tokenizer;
  const std::vector<std::string>& prompts;
  std::span<const int32_t> eval_ids;  // the evaluation text, tokenized
  const HarnessSettings& settings;
  bool show_progress = true;
};

// Measures what only this row measures into its section of the result
// (kv_probe, speculative, attention), after the common measurements.
using RowMeasurement = std::function<void(const RowInputs&, ResultRecord&)>;

struct Method {
  std::string name;
  std::string description;
  std::string weight_format;  // as held in memory: f32, bf16, f16, ...
  std::string device = "cpu";
  // How the KV cache stores keys and values in every measurement (latency,
  // generation, perplexity through eval::perplexity_kv_cache, bench).
  model::KvFormat kv_cache = model::KvFormat::kF32;
  bool measures_latency = true;
  bool measures_generation = true;
  bool measures_perplexity = true;
  // Decodes with a draft model (MethodContext::draft_dir): `run` skips the
  // method on a model whose run_config entry names no `draft`.
  bool needs_draft = false;
  std::function<PreparedModel(const MethodContext&)> prepare;
  DecoderFactory make_decoder = make_greedy_decoder;
  RowMeasurement measure_row;  // null: the common measurements only
};

// Every method, in the order tables list them.
const std::vector<Method>& method_registry();
// tc::Error listing the known names when `name` is not one.
const Method& find_method(const std::string& name);

}  // namespace tc::harness
