#include "io/hf_config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tc::io {

using nlohmann::json;

namespace {

std::string read_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail("{}: not a regular file", path);
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("{}: cannot open", path);
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) fail("{}: read failed", path);
  return text.str();
}

// A short description of a JSON value for an error message; containers are
// not dumped (dump() recurses, and the value may be deeply nested junk).
std::string describe(const json& value) {
  if (value.is_array()) return fmt::format("an array of {} entries", value.size());
  if (value.is_object()) return fmt::format("an object of {} entries", value.size());
  std::string text = value.dump();
  if (text.size() > 64) text = text.substr(0, 60) + "...";
  return text;
}

int64_t required_int(const json& config, const char* field, const std::string& path) {
  const auto found = config.find(field);
  if (found == config.end() || found->is_null()) fail("{}: missing field '{}'", path, field);
  if (!found->is_number_integer() || found->get<int64_t>() <= 0 ||
      found->get<int64_t>() > std::numeric_limits<int32_t>::max()) {
    fail("{}: field '{}' must be a positive integer below 2^31, found {}", path, field,
         describe(*found));
  }
  return found->get<int64_t>();
}

// A finite number > 0 (epsilons, RoPE theta: zero or negative gives NaNs later).
double positive_number(const json& object, const char* field, const std::string& path) {
  const auto found = object.find(field);
  if (found == object.end() || found->is_null()) fail("{}: missing field '{}'", path, field);
  if (!found->is_number() || !std::isfinite(found->get<double>()) || found->get<double>() <= 0) {
    fail("{}: field '{}' must be a positive number, found {}", path, field, describe(*found));
  }
  return found->get<double>();
}

int32_t token_id(const json& value, const char* field, const std::string& path) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
      value.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
    fail("{}: '{}' must hold non-negative integer token ids, found {}", path, field,
         describe(value));
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

// eos_token_id may be an int or a list of ints.
std::vector<int32_t> token_ids(const json& value, const char* field, const std::string& path) {
  std::vector<int32_t> ids;
  if (value.is_number()) {
    ids.push_back(token_id(value, field, path));
  } else if (value.is_array()) {
    for (const auto& id : value) ids.push_back(token_id(id, field, path));
  } else if (!value.is_null()) {
    fail("{}: '{}' must be an integer or a list of integers", path, field);
  }
  return ids;
}

// A RoPE parameter object (rope_parameters or rope_scaling) must describe
// plain RoPE: any scaling (yarn, linear, dynamic, ...) changes the rotation.
void check_default_rope(const json& rope, const char* field, const std::string& path) {
  bool typed_default = false;
  for (const char* key : {"rope_type", "type"}) {
    const auto type = rope.find(key);
    if (type == rope.end() || type->is_null()) continue;
    if (!type->is_string() || type->get<std::string>() != "default") {
      fail("{}: unsupported feature: {}.{} {} (only plain RoPE)", path, field, key,
           describe(*type));
    }
    typed_default = true;
  }
  // transformers ignores a factor under rope_type "default"; without a type
  // it is a scaling request we cannot honour.
  if (const auto factor = rope.find("factor");
      !typed_default && factor != rope.end() && !factor->is_null()) {
    fail("{}: unsupported feature: {}.factor {} (only plain RoPE)", path, field, describe(*factor));
  }
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
  if (const auto archs = config.find("architectures");
      archs != config.end() && archs->is_array() && !archs->empty() && (*archs)[0].is_string()) {
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
  // Absent or null optional fields take Qwen2Config's defaults.
  const auto given = [&config](const char* field) {
    const auto found = config.find(field);
    return found != config.end() && !found->is_null();
  };
  out.num_kv_heads = given("num_key_value_heads")
                         ? required_int(config, "num_key_value_heads", path)
                         : out.num_heads;
  out.vocab_size = required_int(config, "vocab_size", path);
  out.max_position_embeddings = given("max_position_embeddings")
                                    ? required_int(config, "max_position_embeddings", path)
                                    : 32768;
  if (given("head_dim")) {
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

  out.rms_norm_eps = positive_number(config, "rms_norm_eps", path);

  if (const auto act = config.find("hidden_act");
      act != config.end() && (!act->is_string() || act->get<std::string>() != "silu")) {
    fail("{}: unsupported hidden_act {} (supported: silu)", path, describe(*act));
  }

  // RoPE: theta at top level (transformers 4.x) or inside rope_parameters (5.x).
  // Any scaling (yarn, linear, dynamic, ...) changes the rotation: refuse it.
  const auto rope_parameters = config.find("rope_parameters");
  const bool has_rope_parameters = rope_parameters != config.end() && !rope_parameters->is_null();
  if (has_rope_parameters) {
    if (!rope_parameters->is_object()) {
      fail("{}: field 'rope_parameters' must be an object, found {}", path,
           describe(*rope_parameters));
    }
    check_default_rope(*rope_parameters, "rope_parameters", path);
  }
  if (const auto theta = config.find("rope_theta"); theta != config.end() && !theta->is_null()) {
    out.rope_theta = positive_number(config, "rope_theta", path);
  } else if (has_rope_parameters && rope_parameters->contains("rope_theta")) {
    out.rope_theta = positive_number(*rope_parameters, "rope_theta", path);
  } else {
    fail("{}: missing field 'rope_theta' (at top level or in rope_parameters)", path);
  }
  // transformers 5 may also mirror rope_parameters into rope_scaling; only a
  // default (unscaled) one is accepted.
  if (const auto scaling = config.find("rope_scaling");
      scaling != config.end() && !scaling->is_null()) {
    if (!scaling->is_object()) {
      fail("{}: unsupported feature: rope_scaling {} (only plain RoPE)", path, describe(*scaling));
    }
    check_default_rope(*scaling, "rope_scaling", path);
  }
  if (const auto sliding = config.find("use_sliding_window");
      sliding != config.end() && !sliding->is_null()) {
    if (!sliding->is_boolean()) {
      fail("{}: field 'use_sliding_window' must be true or false, found {}", path,
           describe(*sliding));
    }
    if (sliding->get<bool>()) {
      fail("{}: unsupported feature: use_sliding_window is true (sliding-window attention)", path);
    }
  }
  // transformers 5 lists each layer's attention kind.
  if (const auto layer_types = config.find("layer_types");
      layer_types != config.end() && layer_types->is_array()) {
    for (const auto& kind : *layer_types) {
      if (!kind.is_string() || kind.get<std::string>() != "full_attention") {
        fail("{}: unsupported feature: layer_types holds {} (only full_attention)", path,
             describe(kind));
      }
    }
  }

  if (const auto tie = config.find("tie_word_embeddings"); tie != config.end() && !tie->is_null()) {
    if (!tie->is_boolean()) {
      fail("{}: field 'tie_word_embeddings' must be true or false, found {}", path, describe(*tie));
    }
    out.tie_word_embeddings = tie->get<bool>();
  } else {
    out.tie_word_embeddings = false;  // Qwen2Config's default
  }
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
  if (!std::filesystem::is_directory(folder, ec)) fail("{}: no such model folder", dir);
  if (!std::filesystem::exists(config_path, ec))
    fail("{}: missing config.json in the model folder", dir);
  const std::string generation_text =
      std::filesystem::exists(generation_path, ec) ? read_text(generation_path) : std::string();
  return parse_hf_config(read_text(config_path), config_path, generation_text);
}

}  // namespace tc::io
