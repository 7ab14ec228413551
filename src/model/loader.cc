#include "model/loader.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "io/hf_config.h"
#include "io/safetensors.h"

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

// A tensor's bytes copied into aligned storage.
void copy_bytes(const io::TensorInfo& info, AlignedBuffer<uint8_t>& out) {
  out.resize(info.nbytes);
  std::memcpy(out.data(), info.data, info.nbytes);
}

class WeightReader {
 public:
  WeightReader(const io::TensorStore& store, const ModelConfig& config, bool dynamic_int8)
      : store_(store), config_(config), dynamic_int8_(dynamic_int8) {}

  // A matrix written by save_checkpoint in a quantized format: "<name>" holds
  // the values and "<name>_scale" the scales (docs/WEIGHT_FORMATS.md).
  bool is_quantized(const std::string& name) const {
    return store_.find(name + "_scale") != nullptr;
  }

  WeightMatrix quantized_matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const io::TensorInfo& values = store_.get(name);
    const io::TensorInfo& scales = store_.get(name + "_scale");
    WeightMatrix m;
    m.rows = rows;
    m.cols = cols;
    if (values.dtype == DType::kI8) {
      m.format = dynamic_int8_ ? WeightFormat::kQ8RowDynamic : WeightFormat::kQ8Row;
      expect_shape(values, {rows, cols});
      expect_shape(scales, {rows}, DType::kF32);
    } else if (values.dtype == DType::kU8) {
      m.format = WeightFormat::kQ4G128;
      expect_shape(values, {rows, (cols + 1) / 2});
      expect_shape(scales, {rows, m.groups_per_row()}, DType::kF16);
    } else {
      fail(
          "{}: tensor '{}': quantized values must be I8 (int8 per row) or U8 (packed int4), "
          "found {}",
          values.file, name, dtype_name(values.dtype));
    }
    copy_bytes(values, m.storage);
    copy_bytes(scales, m.scales);
    return m;
  }

  void expect_shape(const io::TensorInfo& info, std::vector<int64_t> shape,
                    std::optional<DType> dtype = std::nullopt) const {
    if (dtype && info.dtype != *dtype) {
      fail("{}: tensor '{}': dtype {} (expected {})", info.file, info.name, dtype_name(info.dtype),
           dtype_name(*dtype));
    }
    if (info.shape != shape) {
      io::TensorInfo expected;
      expected.shape = shape;
      fail("{}: tensor '{}': shape {} does not match the config (expected {})", info.file,
           info.name, info.shape_string(), expected.shape_string());
    }
  }

  // Finds `name` and checks its dtype and shape.
  const io::TensorInfo& checked(const std::string& name, std::vector<int64_t> shape) const {
    const io::TensorInfo& info = store_.get(name);
    if (info.dtype != DType::kF32 && info.dtype != DType::kBF16 && info.dtype != DType::kF16) {
      fail("{}: tensor '{}': unsupported dtype {} (expected F32, F16 or BF16)", info.file, name,
           dtype_name(info.dtype));
    }
    if (info.shape != shape) {
      io::TensorInfo expected;
      expected.shape = shape;
      fail("{}: tensor '{}': shape {} does not match the config (expected {})", info.file, name,
           info.shape_string(), expected.shape_string());
    }
    return info;
  }

  std::vector<float> vector(const std::string& name, int64_t length) const {
    const io::TensorInfo& info = checked(name, {length});
    std::vector<float> out(static_cast<size_t>(length));
    for (size_t i = 0; i < out.size(); ++i) out[i] = element_as_f32(info, i);
    return out;
  }

  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols,
                      WeightFormat format) const {
    if (is_quantized(name)) return quantized_matrix(name, rows, cols);
    const io::TensorInfo& info = checked(name, {rows, cols});
    WeightMatrix m;
    m.format = format;
    m.rows = rows;
    m.cols = cols;
    const size_t count = static_cast<size_t>(rows * cols);
    m.storage.resize(count * kernels::weight_format_size(format));
    // Same storage type: copy the bits, no rounding.
    const bool same = (format == WeightFormat::kF32 && info.dtype == DType::kF32) ||
                      (format == WeightFormat::kBF16 && info.dtype == DType::kBF16) ||
                      (format == WeightFormat::kF16 && info.dtype == DType::kF16);
    if (same) {
      std::memcpy(m.storage.data(), info.data, info.nbytes);
      return m;
    }
    for (size_t i = 0; i < count; ++i) {
      const float value = element_as_f32(info, i);
      switch (format) {
        case WeightFormat::kF32:
          reinterpret_cast<float*>(m.storage.data())[i] = value;
          break;
        case WeightFormat::kBF16:
          reinterpret_cast<uint16_t*>(m.storage.data())[i] = f32_to_bf16(value);
          break;
        case WeightFormat::kF16:
          reinterpret_cast<uint16_t*>(m.storage.data())[i] = f32_to_f16(value);
          break;
        default:  // load_qwen2 refuses quantized formats before reading any tensor
          break;
      }
    }
    return m;
  }

 private:
  const io::TensorStore& store_;
  const ModelConfig& config_;
  bool dynamic_int8_;
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
  if (format != WeightFormat::kF32 && format != WeightFormat::kBF16 &&
      format != WeightFormat::kF16) {
    fail(
        "{}: load_qwen2 reads dense weights (f32, bf16, f16); quantized formats are made from "
        "them by the quantizers in quant/",
        dir);
  }
  ModelConfig config = io::load_hf_config(dir);
  const io::TensorStore store = io::TensorStore::open_model_dir(dir);
  const nlohmann::json quantization = quantization_section(dir);
  const bool dynamic_int8 =
      !quantization.is_null() && quantization.value("linear_format", "") == "q8_row_dynamic";
  const WeightReader read(store, config, dynamic_int8);
  const int64_t hidden = config.hidden_size;

  Qwen2Weights weights;
  weights.embed_tokens =
      read.matrix("model.embed_tokens.weight", config.vocab_size, hidden, format);
  weights.final_norm = read.vector("model.norm.weight", hidden);
  // As in transformers, tie_word_embeddings decides: when tied, the output
  // projection is the embedding matrix even if a file also holds lm_head.
  if (!config.tie_word_embeddings) {
    if (store.find("lm_head.weight") == nullptr) {
      fail("{}: missing tensor 'lm_head.weight' (config.json has tie_word_embeddings false)", dir);
    }
    weights.lm_head = read.matrix("lm_head.weight", config.vocab_size, hidden, format);
  }
  for (int64_t l = 0; l < config.num_layers; ++l) {
    const std::string prefix = "model.layers." + std::to_string(l) + ".";
    LayerWeights layer;
    layer.input_norm = read.vector(prefix + "input_layernorm.weight", hidden);
    layer.q_proj = read.matrix(prefix + "self_attn.q_proj.weight", config.q_dim(), hidden, format);
    layer.k_proj = read.matrix(prefix + "self_attn.k_proj.weight", config.kv_dim(), hidden, format);
    layer.v_proj = read.matrix(prefix + "self_attn.v_proj.weight", config.kv_dim(), hidden, format);
    layer.q_bias = read.vector(prefix + "self_attn.q_proj.bias", config.q_dim());
    layer.k_bias = read.vector(prefix + "self_attn.k_proj.bias", config.kv_dim());
    layer.v_bias = read.vector(prefix + "self_attn.v_proj.bias", config.kv_dim());
    layer.o_proj = read.matrix(prefix + "self_attn.o_proj.weight", hidden, config.q_dim(), format);
    layer.post_attention_norm = read.vector(prefix + "post_attention_layernorm.weight", hidden);
    layer.gate_proj =
        read.matrix(prefix + "mlp.gate_proj.weight", config.intermediate_size, hidden, format);
    layer.up_proj =
        read.matrix(prefix + "mlp.up_proj.weight", config.intermediate_size, hidden, format);
    layer.down_proj =
        read.matrix(prefix + "mlp.down_proj.weight", hidden, config.intermediate_size, format);
    weights.layers.push_back(std::move(layer));
  }
  return Qwen2Model(std::move(config), std::move(weights));
}

}  // namespace tc::model
