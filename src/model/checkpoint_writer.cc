#include "model/checkpoint_writer.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/block_tensors.h"
#include "weights/weight_format.h"

namespace tc::model {

namespace fs = std::filesystem;
using weights::WeightFormat;

namespace {

std::span<const uint8_t> bytes_of(const std::vector<float>& values) {
  return {reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)};
}

// Adds one matrix: dense formats as themselves; quantized ones as values
// ("<name>") plus scales ("<name>_scale"), dtypes and shapes from the
// format's table row (docs/WEIGHT_FORMATS.md).
void add_matrix(std::vector<io::TensorToWrite>& out, const std::string& name,
                const WeightMatrix& m) {
  const weights::WeightFormatTraits& traits = weights::weight_format_traits(m.format);
  out.push_back({name, traits.value_dtype, weights::stored_value_shape(m.format, m.rows, m.cols),
                 std::span<const uint8_t>(m.storage.data(), m.storage.size())});
  if (traits.quantized) {
    out.push_back({name + "_scale", traits.scale_dtype,
                   weights::stored_scale_shape(m.format, m.rows, m.cols),
                   std::span<const uint8_t>(m.scales.data(), m.scales.size())});
  }
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  if (!file) fail("{}: cannot open", path);
  nlohmann::json parsed = nlohmann::json::parse(file, nullptr, false);
  if (parsed.is_discarded()) fail("{}: not valid JSON", path);
  return parsed;
}

}  // namespace

void save_checkpoint(const Qwen2Model& model, const std::string& source_dir,
                     const std::string& out_dir, const nlohmann::json& quantization) {
  const Qwen2Weights& w = model.weights();
  std::vector<io::TensorToWrite> tensors;
  add_matrix(tensors, "model.embed_tokens.weight", w.embed_tokens);
  tensors.push_back({"model.norm.weight",
                     DType::kF32,
                     {static_cast<int64_t>(w.final_norm.size())},
                     bytes_of(w.final_norm)});
  if (w.lm_head) add_matrix(tensors, "lm_head.weight", *w.lm_head);
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& layer = w.layers[l];
    for (const BlockTensor& tensor : block_tensors()) {
      const std::string name = block_tensor_name(static_cast<int64_t>(l), tensor);
      if (tensor.role == TensorRole::kLinear) {
        add_matrix(tensors, name, layer.*tensor.matrix);
      } else {
        const std::vector<float>& values = layer.*tensor.vector;
        tensors.push_back(
            {name, DType::kF32, {static_cast<int64_t>(values.size())}, bytes_of(values)});
      }
    }
  }

  fs::create_directories(out_dir);
  nlohmann::json config = read_json((fs::path(source_dir) / "config.json").string());
  config.erase("quantization_config");
  const WeightFormat linear = w.layers.empty() ? w.embed_tokens.format : w.layers[0].q_proj.format;
  const auto quantized = [](WeightFormat f) { return weights::weight_format_traits(f).quantized; };
  if (quantized(linear) || quantized(w.embed_tokens.format)) {
    nlohmann::json section = quantization.is_object() ? quantization : nlohmann::json::object();
    section["quant_method"] = "tinycompress";
    section["linear_format"] = weights::weight_format_name(linear);
    section["embedding_format"] = weights::weight_format_name(w.embed_tokens.format);
    section["group_size"] = weights::weight_format_traits(linear).group_size;
    section["layout"] =
        "docs/WEIGHT_FORMATS.md: '<name>' holds the values, '<name>_scale' the scales";
    config["quantization_config"] = section;
  }
  io::write_safetensors((fs::path(out_dir) / "model.safetensors").string(), tensors,
                        {{"format", "pt"}, {"writer", "tinycompress"}});
  io::write_file_atomic((fs::path(out_dir) / "config.json").string(), config.dump(2) + "\n");
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    const fs::path from = fs::path(source_dir) / name;
    std::error_code ec;
    if (!fs::exists(from, ec)) continue;
    std::ifstream file(from, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    io::write_file_atomic((fs::path(out_dir) / name).string(), text);
  }
}

}  // namespace tc::model
