// Writing a model (dense or quantized) back out as a Hugging Face style
// folder that load_qwen2 reads again with identical weights: config.json
// (plus a "quantization_config" section when any matrix is quantized),
// model.safetensors, and the tokenizer and generation files of the source.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "model/qwen2.h"

namespace tc::model {

// `source_dir` is the checkpoint the model was loaded from (its config.json
// and tokenizer files are carried over). `quantization` is merged into the
// quantization_config section (method name, details); ignored when the model
// holds no quantized matrix. The folder is created; files are written atomically.
void save_checkpoint(const Qwen2Model& model, const std::string& source_dir,
                     const std::string& out_dir, const nlohmann::json& quantization);

}  // namespace tc::model
