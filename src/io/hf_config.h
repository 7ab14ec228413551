// config.json (+ generation_config.json) of a Hugging Face Qwen2 checkpoint
// -> ModelConfig. Features the engine does not implement (sliding-window
// attention, rope scaling) are refused here with an error naming the field,
// rather than computing something silently different.
#pragma once

#include <string>

#include "model/config.h"

namespace tc::io {

// Reads dir/config.json and, when present, dir/generation_config.json.
model::ModelConfig load_hf_config(const std::string& dir);

// Parses config.json text; `path` names the file in errors. The generation
// config text may be empty.
model::ModelConfig parse_hf_config(const std::string& config_text, const std::string& path,
                                   const std::string& generation_config_text = "");

}  // namespace tc::io
