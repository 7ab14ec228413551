// Loading a Hugging Face Qwen2 checkpoint folder into a Qwen2Model.
#pragma once

#include <string>

#include "model/qwen2.h"

namespace tc::model {

// Reads config.json (+ generation_config.json) and the safetensors weights of
// `dir`, checks that every expected tensor is present with a supported dtype
// (F32, F16, BF16) and the shape the config implies, and converts the matrices
// once to `format` (norms and biases are kept in fp32). Throws tc::Error
// naming the file and tensor on any mismatch.
Qwen2Model load_qwen2(const std::string& dir, WeightFormat format = WeightFormat::kF32);

// Parses "fp32" | "bf16" | "fp16" (as in --dtype); throws on anything else.
WeightFormat parse_weight_format(const std::string& name);

}  // namespace tc::model
