#include "io/hf_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tc::io {

using nlohmann::json;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("{}: cannot open", path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

int64_t required_int(const json& config, const char* field, const std::string& path) {
  const auto found = config.find(field);
  if (found == config.end() || found->is_null()) fail("{}: missing field '{}'", path, field);
  if (!found->is_number_integer() || found->get<int64_t>() <= 0) {
    fail("{}: field '{}' must be a positive integer, found {}", path, field, found->dump());
  }
  return found->get<int64_t>();
}

double number_field(const json& object, const char* field, const std::string& path) {
  const auto found = object.find(field);
  if (found == object.end()) fail("{}: missing field '{}'", path, field);
  if (!found->is_number()) fail("{}: field '{}' must be a number, found {}", path, field,
                                found->dump());
  return found->get<double>();
}

// eos_token_id may be an int or a list of ints.
std::vector<int32_t> token_ids(const json& value, const char* field, const std::string& path) {
  std::vector<int32_t> ids;
  if (value.is_number_integer()) {
    ids.push_back(value.get<int32_t>());
  } else if (value.is_array()) {
    for (const auto& id : value) {
      if (!id.is_number_integer()) fail("{}: '{}' must hold integers", path, field);
      ids.push_back(id.get<int32_t>());
    }
  } else if (!value.is_null()) {
    fail("{}: '{}' must be an integer or a list of integers", path, field);
  }
  return ids;
}

json parse_json(const std::string& text, const std::string& path) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) fail("{}: not valid JSON", path);
  if (!parsed.is_object()) fail("{}: must be a JSON object", path);
  return parsed;
}

}  // namespace

model::ModelConfig parse_hf_config(const std::string& config_text, const std::string& path,
                                   const std::string& generation_config_text) {
  const json config = parse_json(config_text, path);
  model::ModelConfig out;

  const auto model_type = config.find("model_type");
  if (model_type == config.end() || !model_type->is_string()) {
    fail("{}: missing field 'model_type'", path);
  }
  if (model_type->get<std::string>() != "qwen2") {
    fail("{}: unsupported architecture: model_type '{}' (supported: qwen2)", path,
         model_type->get<std::string>());
  }
  if (const auto archs = config.find("architectures"); archs != config.end() && archs->is_array() &&
                                                       !archs->empty() && (*archs)[0].is_string()) {
    out.architecture = (*archs)[0].get<std::string>();
    if (out.architecture != "Qwen2ForCausalLM") {
      fail("{}: unsupported architecture '{}' (supported: Qwen2ForCausalLM)", path,
           out.architecture);
    }
  }

  out.hidden_size = required_int(config, "hidden_size", path);
  out.intermediate_size = required_int(config, "intermediate_size", path);
  out.num_layers = required_int(config, "num_hidden_layers", path);
  out.num_heads = required_int(config, "num_attention_heads", path);
  out.num_kv_heads = config.contains("num_key_value_heads")
                         ? required_int(config, "num_key_value_heads", path)
                         : out.num_heads;
  out.vocab_size = required_int(config, "vocab_size", path);
  out.max_position_embeddings = config.contains("max_position_embeddings")
                                    ? required_int(config, "max_position_embeddings", path)
                                    : 32768;
  if (config.contains("head_dim") && !config["head_dim"].is_null()) {
    out.head_dim = required_int(config, "head_dim", path);
  } else {
    if (out.hidden_size % out.num_heads != 0) {
      fail("{}: hidden_size {} is not divisible by num_attention_heads {}", path, out.hidden_size,
           out.num_heads);
    }
    out.head_dim = out.hidden_size / out.num_heads;
  }
  if (out.head_dim % 2 != 0) fail("{}: head_dim {} must be even for RoPE", path, out.head_dim);
  if (out.num_heads % out.num_kv_heads != 0) {
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", path,
         out.num_heads, out.num_kv_heads);
  }

  if (!config.contains("rms_norm_eps")) fail("{}: missing field 'rms_norm_eps'", path);
  out.rms_norm_eps = number_field(config, "rms_norm_eps", path);

  if (const auto act = config.find("hidden_act");
      act != config.end() && (!act->is_string() || act->get<std::string>() != "silu")) {
    fail("{}: unsupported hidden_act {} (supported: silu)", path, act->dump());
  }

  // RoPE: theta at top level (transformers 4.x) or inside rope_parameters (5.x).
  // Any scaling (yarn, linear, dynamic, ...) changes the rotation: refuse it.
  const auto rope_parameters = config.find("rope_parameters");
  if (rope_parameters != config.end() && rope_parameters->is_object()) {
    if (const auto type = rope_parameters->find("rope_type");
        type != rope_parameters->end() && type->is_string() && type->get<std::string>() != "default") {
      fail("{}: unsupported feature: rope_parameters.rope_type '{}' (only default RoPE)", path,
           type->get<std::string>());
    }
  }
  if (config.contains("rope_theta")) {
    out.rope_theta = number_field(config, "rope_theta", path);
  } else if (rope_parameters != config.end() && rope_parameters->is_object() &&
             rope_parameters->contains("rope_theta")) {
    out.rope_theta = number_field(*rope_parameters, "rope_theta", path);
  } else {
    fail("{}: missing field 'rope_theta' (at top level or in rope_parameters)", path);
  }
  if (const auto scaling = config.find("rope_scaling");
      scaling != config.end() && !scaling->is_null()) {
    fail("{}: unsupported feature: rope_scaling {} (only plain RoPE)", path, scaling->dump());
  }
  if (const auto sliding = config.find("use_sliding_window");
      sliding != config.end() && sliding->is_boolean() && sliding->get<bool>()) {
    fail("{}: unsupported feature: use_sliding_window is true (sliding-window attention)", path);
  }

  out.tie_word_embeddings = config.value("tie_word_embeddings", false);
  if (const auto dtype = config.find("torch_dtype"); dtype != config.end() && dtype->is_string()) {
    out.torch_dtype = dtype->get<std::string>();
  } else if (const auto dt = config.find("dtype"); dt != config.end() && dt->is_string()) {
    out.torch_dtype = dt->get<std::string>();
  }

  // End of text: generation_config.json wins over config.json, as in transformers.
  if (const auto eos = config.find("eos_token_id"); eos != config.end()) {
    out.eos_token_ids = token_ids(*eos, "eos_token_id", path);
  }
  if (!generation_config_text.empty()) {
    const std::string generation_path =
        (std::filesystem::path(path).parent_path() / "generation_config.json").string();
    const json generation = parse_json(generation_config_text, generation_path);
    if (const auto eos = generation.find("eos_token_id"); eos != generation.end()) {
      auto ids = token_ids(*eos, "eos_token_id", generation_path);
      if (!ids.empty()) out.eos_token_ids = std::move(ids);
    }
  }
  return out;
}

model::ModelConfig load_hf_config(const std::string& dir) {
  const std::filesystem::path folder(dir);
  const std::string config_path = (folder / "config.json").string();
  const std::string generation_path = (folder / "generation_config.json").string();
  std::error_code ec;
  if (!std::filesystem::exists(config_path, ec)) fail("{}: missing config.json", dir);
  const std::string generation_text =
      std::filesystem::exists(generation_path, ec) ? read_text(generation_path) : std::string();
  return parse_hf_config(read_text(config_path), config_path, generation_text);
}

}  // namespace tc::io
