#include "model/loader.h"

#include <cstring>

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

class WeightReader {
 public:
  WeightReader(const io::TensorStore& store, const ModelConfig& config)
      : store_(store), config_(config) {}

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
};

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
    fail("{}: load_qwen2 reads dense weights (f32, bf16, f16); quantized formats are made from "
         "them by the quantizers in quant/",
         dir);
  }
  ModelConfig config = io::load_hf_config(dir);
  const io::TensorStore store = io::TensorStore::open_model_dir(dir);
  const WeightReader read(store, config);
  const int64_t hidden = config.hidden_size;

  Qwen2Weights weights;
  weights.embed_tokens = read.matrix("model.embed_tokens.weight", config.vocab_size, hidden, format);
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
  return Qwen2Model(std::move(config), std::move(weights), format);
}

}  // namespace tc::model
