#include "model/loader.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/block_tensors.h"
#include "weights/weight_format.h"

namespace tc::model {

namespace {

// Reads element i of a stored tensor as fp32 (memcpy: the data may be unaligned).
float element_as_f32(const io::TensorInfo& info, size_t i) {
  switch (info.dtype) {
    case DType::kF32: {
      float value;
      std::memcpy(&value, info.data + i * 4, 4);
      return value;
    }
    case DType::kBF16: {
      uint16_t bits;
      std::memcpy(&bits, info.data + i * 2, 2);
      return bf16_to_f32(bits);
    }
    case DType::kF16: {
      uint16_t bits;
      std::memcpy(&bits, info.data + i * 2, 2);
      return f16_to_f32(bits);
    }
    default:
      fail("{}: tensor '{}': unsupported dtype {}", info.file, info.name, dtype_name(info.dtype));
  }
}

class WeightReader {
 public:
  // quantization: the checkpoint's quantization_config (null when dense).
  WeightReader(const io::TensorStore& store, const nlohmann::json& quantization,
               std::string config_path)
      : store_(store), quantization_(quantization), config_path_(std::move(config_path)) {}

  // A [rows, cols] matrix: stored quantized ("<name>" plus "<name>_scale",
  // docs/WEIGHT_FORMATS.md) in the format quantization_config names for it
  // (`format_key`: linear_format or embedding_format), or dense (F32, F16,
  // BF16) and converted once to `dense_format`.
  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols,
                      WeightFormat dense_format, const char* format_key) const {
    if (store_.find(name + "_scale") != nullptr) {
      return quantized_matrix(name, rows, cols, stored_format(name, format_key));
    }
    const io::TensorInfo& info = checked(name, {rows, cols});
    WeightMatrix m = weights::make_weight_matrix(dense_format, rows, cols);
    if (info.dtype == weights::weight_format_traits(dense_format).value_dtype) {
      std::memcpy(m.storage.data(), info.data, info.nbytes);  // same type: the bits, no rounding
      return m;
    }
    const auto encode = weights::weight_format_traits(dense_format).encode_row;
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) row[c] = element_as_f32(info, r * cols + c);
      encode(row.data(), cols, m.storage.data() + r * m.row_bytes(), nullptr);
    }
    return m;
  }

  std::vector<float> vector(const std::string& name, int64_t length) const {
    const io::TensorInfo& info = checked(name, {length});
    std::vector<float> out(static_cast<size_t>(length));
    for (size_t i = 0; i < out.size(); ++i) out[i] = element_as_f32(info, i);
    return out;
  }

 private:
  WeightFormat stored_format(const std::string& name, const char* format_key) const {
    if (quantization_.is_null()) {
      fail(
          "{}: tensor '{}' is stored quantized ('{}_scale' exists) but config.json has no "
          "quantization_config naming its format",
          store_.get(name).file, name, name);
    }
    const auto entry = quantization_.find(format_key);
    if (entry == quantization_.end() || !entry->is_string()) {
      fail("{}: quantization_config.{} is missing or not a string (needed for tensor '{}')",
           config_path_, format_key, name);
    }
    const WeightFormat format = weights::weight_format_from_name(entry->get<std::string>());
    if (!weights::weight_format_traits(format).quantized) {
      fail("{}: quantization_config.{} is '{}', not a quantized format", config_path_, format_key,
           entry->get<std::string>());
    }
    return format;
  }

  WeightMatrix quantized_matrix(const std::string& name, int64_t rows, int64_t cols,
                                WeightFormat format) const {
    const weights::WeightFormatTraits& traits = weights::weight_format_traits(format);
    const io::TensorInfo& values = store_.get(name);
    const io::TensorInfo& scales = store_.get(name + "_scale");
    expect(values, weights::stored_value_shape(format, rows, cols), traits.value_dtype,
           traits.name);
    expect(scales, weights::stored_scale_shape(format, rows, cols), traits.scale_dtype,
           traits.name);
    WeightMatrix m = weights::make_weight_matrix(format, rows, cols);
    std::memcpy(m.storage.data(), values.data, values.nbytes);
    std::memcpy(m.scales.data(), scales.data, scales.nbytes);
    return m;
  }

  void expect(const io::TensorInfo& info, const std::vector<int64_t>& shape, DType dtype,
              std::string_view format) const {
    if (info.dtype != dtype) {
      fail("{}: tensor '{}': dtype {} (a {} matrix stores {})", info.file, info.name,
           dtype_name(info.dtype), format, dtype_name(dtype));
    }
    expect_shape(info, shape);
  }

  static void expect_shape(const io::TensorInfo& info, const std::vector<int64_t>& shape) {
    if (info.shape != shape) {
      io::TensorInfo expected;
      expected.shape = shape;
      fail("{}: tensor '{}': shape {} does not match the config (expected {})", info.file,
           info.name, info.shape_string(), expected.shape_string());
    }
  }

  // Finds a dense tensor and checks its dtype and shape.
  const io::TensorInfo& checked(const std::string& name, const std::vector<int64_t>& shape) const {
    const io::TensorInfo& info = store_.get(name);
    if (info.dtype != DType::kF32 && info.dtype != DType::kBF16 && info.dtype != DType::kF16) {
      fail("{}: tensor '{}': unsupported dtype {} (expected F32, F16 or BF16)", info.file, name,
           dtype_name(info.dtype));
    }
    expect_shape(info, shape);
    return info;
  }

  const io::TensorStore& store_;
  const nlohmann::json& quantization_;
  std::string config_path_;
};

// The "quantization_config" of a checkpoint written by save_checkpoint, or null.
nlohmann::json quantization_section(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  std::ifstream file(path);
  const nlohmann::json config = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) return nullptr;
  const auto section = config.find("quantization_config");
  if (section == config.end() || !section->is_object()) return nullptr;
  if (section->value("quant_method", "") != "tinycompress") {
    fail(
        "{}: quantization_config.quant_method '{}' is not supported (only checkpoints written "
        "by tinycompress quantize)",
        path, section->value("quant_method", "?"));
  }
  return *section;
}

}  // namespace

WeightFormat parse_weight_format(const std::string& name) {
  if (name == "fp32" || name == "f32") return WeightFormat::kF32;
  if (name == "bf16") return WeightFormat::kBF16;
  if (name == "fp16" || name == "f16") return WeightFormat::kF16;
  fail("unknown weight dtype '{}' (expected fp32, bf16 or fp16)", name);
}

Qwen2Model load_qwen2(const std::string& dir, WeightFormat format) {
  if (weights::weight_format_traits(format).quantized) {
    fail(
        "{}: load_qwen2 reads dense weights (f32, bf16, f16); quantized formats are made from "
        "them by the quantizers in quant/",
        dir);
  }
  ModelConfig config = io::load_hf_config(dir);
  const io::TensorStore store = io::TensorStore::open_model_dir(dir);
  const nlohmann::json quantization = quantization_section(dir);
  const WeightReader read(store, quantization,
                          (std::filesystem::path(dir) / "config.json").string());
  const int64_t hidden = config.hidden_size;

  Qwen2Weights weights;
  weights.embed_tokens = read.matrix("model.embed_tokens.weight", config.vocab_size, hidden, format,
                                     "embedding_format");
  weights.final_norm = read.vector("model.norm.weight", hidden);
  // As in transformers, tie_word_embeddings decides: when tied, the output
  // projection is the embedding matrix even if a file also holds lm_head.
  if (!config.tie_word_embeddings) {
    if (store.find("lm_head.weight") == nullptr) {
      fail("{}: missing tensor 'lm_head.weight' (config.json has tie_word_embeddings false)", dir);
    }
    weights.lm_head =
        read.matrix("lm_head.weight", config.vocab_size, hidden, format, "embedding_format");
  }
  for (int64_t l = 0; l < config.num_layers; ++l) {
    LayerWeights layer;
    for (const BlockTensor& tensor : block_tensors()) {
      const std::string name = block_tensor_name(l, tensor);
      const std::vector<int64_t> shape = block_tensor_shape(config, tensor);
      if (tensor.role == TensorRole::kLinear) {
        layer.*tensor.matrix = read.matrix(name, shape[0], shape[1], format, "linear_format");
      } else {
        layer.*tensor.vector = read.vector(name, shape[0]);
      }
    }
    weights.layers.push_back(std::move(layer));
  }
  return Qwen2Model(std::move(config), std::move(weights));
}

}  // namespace tc::model
