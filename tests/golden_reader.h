// Reading the golden tensors and JSON written by transformers (tests only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"

namespace tc::test {

// Tensor contents as fp32 / int32 (F32, I64 and I32 tensors).
std::vector<float> as_floats(const io::TensorInfo& info);
std::vector<int32_t> as_ids(const io::TensorInfo& info);

nlohmann::json read_json(const std::string& path);

// Largest |a[i] - b[i]| (sizes must match).
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace tc::test
