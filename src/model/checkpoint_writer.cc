#include "model/checkpoint_writer.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"

namespace tc::model {

namespace fs = std::filesystem;
using kernels::WeightFormat;

namespace {

bool is_quantized(WeightFormat format) {
  return format == WeightFormat::kQ8Row || format == WeightFormat::kQ8RowDynamic ||
         format == WeightFormat::kQ4G128;
}

std::span<const uint8_t> bytes_of(const std::vector<float>& values) {
  return {reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)};
}

// Adds one matrix: dense formats as themselves; quantized ones as values
// ("<name>", I8 or packed U8) plus scales ("<name>_scale", F32 or F16).
void add_matrix(std::vector<io::TensorToWrite>& out, const std::string& name,
                const WeightMatrix& m) {
  const std::span<const uint8_t> values(m.storage.data(), m.storage.size());
  const std::span<const uint8_t> scales(m.scales.data(), m.scales.size());
  switch (m.format) {
    case WeightFormat::kF32:
      out.push_back({name, DType::kF32, {m.rows, m.cols}, values});
      return;
    case WeightFormat::kBF16:
      out.push_back({name, DType::kBF16, {m.rows, m.cols}, values});
      return;
    case WeightFormat::kF16:
      out.push_back({name, DType::kF16, {m.rows, m.cols}, values});
      return;
    case WeightFormat::kQ8Row:
    case WeightFormat::kQ8RowDynamic:
      out.push_back({name, DType::kI8, {m.rows, m.cols}, values});
      out.push_back({name + "_scale", DType::kF32, {m.rows}, scales});
      return;
    case WeightFormat::kQ4G128:
      out.push_back({name, DType::kU8, {m.rows, m.row_bytes()}, values});
      out.push_back({name + "_scale", DType::kF16, {m.rows, m.groups_per_row()}, scales});
      return;
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
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto vector = [&](const std::string& name, const std::vector<float>& values) {
      tensors.push_back(
          {p + name, DType::kF32, {static_cast<int64_t>(values.size())}, bytes_of(values)});
    };
    vector("input_layernorm.weight", layer.input_norm);
    add_matrix(tensors, p + "self_attn.q_proj.weight", layer.q_proj);
    add_matrix(tensors, p + "self_attn.k_proj.weight", layer.k_proj);
    add_matrix(tensors, p + "self_attn.v_proj.weight", layer.v_proj);
    vector("self_attn.q_proj.bias", layer.q_bias);
    vector("self_attn.k_proj.bias", layer.k_bias);
    vector("self_attn.v_proj.bias", layer.v_bias);
    add_matrix(tensors, p + "self_attn.o_proj.weight", layer.o_proj);
    vector("post_attention_layernorm.weight", layer.post_attention_norm);
    add_matrix(tensors, p + "mlp.gate_proj.weight", layer.gate_proj);
    add_matrix(tensors, p + "mlp.up_proj.weight", layer.up_proj);
    add_matrix(tensors, p + "mlp.down_proj.weight", layer.down_proj);
  }

  fs::create_directories(out_dir);
  nlohmann::json config = read_json((fs::path(source_dir) / "config.json").string());
  config.erase("quantization_config");
  const WeightFormat linear = w.layers.empty() ? w.embed_tokens.format : w.layers[0].q_proj.format;
  if (is_quantized(linear) || is_quantized(w.embed_tokens.format)) {
    nlohmann::json section = quantization.is_object() ? quantization : nlohmann::json::object();
    section["quant_method"] = "tinycompress";
    section["linear_format"] = kernels::weight_format_name(linear);
    section["embedding_format"] = kernels::weight_format_name(w.embed_tokens.format);
    section["group_size"] = kernels::kQ4GroupSize;
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
