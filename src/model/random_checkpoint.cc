#include "model/random_checkpoint.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "io/atomic_file.h"
#include "io/hf_config.h"
#include "model/block_tensors.h"
#include "tokenizer/synthetic_tokenizer.h"

namespace tc::model {

namespace {

namespace fs = std::filesystem;

// Qwen2.5's shared settings; the presets differ only in their sizes.
ModelConfig qwen25_config(int64_t hidden, int64_t intermediate, int64_t layers, int64_t heads,
                          int64_t kv_heads) {
  ModelConfig config;
  config.hidden_size = hidden;
  config.intermediate_size = intermediate;
  config.num_layers = layers;
  config.num_heads = heads;
  config.num_kv_heads = kv_heads;
  config.head_dim = hidden / heads;
  config.vocab_size = 151936;
  config.max_position_embeddings = 32768;
  config.rms_norm_eps = 1e-6;
  config.rope_theta = 1e6;
  config.tie_word_embeddings = true;
  config.eos_token_ids = {151643};
  config.torch_dtype = "bfloat16";
  return config;
}

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (const char c : text) hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001B3ull;
  return hash;
}

// A standard-normal-ish value from 64 random bits: the sum of four 16-bit
// uniforms, centred and scaled to unit variance. Cheaper than Box-Muller and
// bounded (±3.46), which is all random test weights need.
float normalish(uint64_t bits) {
  const auto sum = static_cast<double>((bits & 0xFFFF) + ((bits >> 16) & 0xFFFF) +
                                       ((bits >> 32) & 0xFFFF) + (bits >> 48));
  constexpr double kMean = 4 * 65535.0 / 2;
  constexpr double kStd = 37837.22;  // sqrt(4 * (65536² - 1) / 12)
  return static_cast<float>((sum - kMean) / kStd);
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string config_json_text(const RandomCheckpointSpec& spec) {
  const ModelConfig& c = spec.config;
  nlohmann::json config = {{"architectures", {"Qwen2ForCausalLM"}},
                           {"attention_dropout", 0.0},
                           {"bos_token_id", c.eos_token_ids.at(0)},
                           {"eos_token_id", c.eos_token_ids.at(0)},
                           {"hidden_act", "silu"},
                           {"hidden_size", c.hidden_size},
                           {"initializer_range", spec.weight_std},
                           {"intermediate_size", c.intermediate_size},
                           {"max_position_embeddings", c.max_position_embeddings},
                           {"max_window_layers", c.num_layers},
                           {"model_type", "qwen2"},
                           {"num_attention_heads", c.num_heads},
                           {"num_hidden_layers", c.num_layers},
                           {"num_key_value_heads", c.num_kv_heads},
                           {"rms_norm_eps", c.rms_norm_eps},
                           {"rope_theta", c.rope_theta},
                           {"sliding_window", c.max_position_embeddings},
                           {"tie_word_embeddings", c.tie_word_embeddings},
                           {"torch_dtype", "bfloat16"},
                           {"use_cache", true},
                           {"use_sliding_window", false},
                           {"vocab_size", c.vocab_size}};
  if (c.head_dim != c.hidden_size / c.num_heads) config["head_dim"] = c.head_dim;
  return config.dump(2) + "\n";
}

std::string generation_config_json_text(const RandomCheckpointSpec& spec) {
  const nlohmann::json generation = {{"bos_token_id", spec.config.eos_token_ids.at(0)},
                                     {"do_sample", false},
                                     {"eos_token_id", spec.config.eos_token_ids.at(0)},
                                     {"max_new_tokens", 2048}};
  return generation.dump(2) + "\n";
}

// Refuses specs that would not load or whose tokenizer would not fit the
// embedding; the config text is checked by the same parser the loader uses.
void check_spec(const RandomCheckpointSpec& spec, const std::string& dir) {
  const ModelConfig& c = spec.config;
  if (c.eos_token_ids.size() != 1 || c.eos_token_ids[0] != spec.tokenizer_learned_tokens) {
    fail("{}: random checkpoint '{}': eos_token_ids must be [{}] (<|endoftext|>)", dir, spec.name,
         spec.tokenizer_learned_tokens);
  }
  const auto added = static_cast<int64_t>(tokenizer::qwen2_added_tokens().size());
  if (c.vocab_size < spec.tokenizer_learned_tokens + added) {
    fail("{}: random checkpoint '{}': vocab_size {} is smaller than the tokenizer's {} tokens", dir,
         spec.name, c.vocab_size, spec.tokenizer_learned_tokens + added);
  }
  if (!(spec.weight_std > 0) || !(spec.bias_std >= 0)) {
    fail("{}: random checkpoint '{}': weight_std must be > 0 and bias_std >= 0", dir, spec.name);
  }
  if (c.num_heads <= 0 || c.head_dim <= 0) {
    fail("{}: random checkpoint '{}': num_heads and head_dim must be positive", dir, spec.name);
  }
}

// Writes model.safetensors tensor by tensor in bounded chunks.
RandomCheckpointInfo write_weights(const std::string& path, const RandomCheckpointSpec& spec,
                                   const WriteProgress& progress) {
  const std::vector<io::TensorSpec> tensors = qwen2_tensor_specs(spec.config, DType::kBF16);
  RandomCheckpointInfo info;
  for (const auto& tensor : tensors) {
    int64_t count = 1;
    for (const int64_t dim : tensor.shape) count *= dim;
    info.parameters += count;
  }
  io::SafetensorsWriter writer(path, tensors,
                               {{"format", "pt"},
                                {"generator", "tinycompress init-random"},
                                {"like", spec.name},
                                {"seed", std::to_string(spec.seed)}});
  constexpr size_t kChunk = size_t{1} << 20;  // elements per chunk: 2 MB of bf16
  std::vector<uint16_t> chunk(kChunk);
  const uint64_t seed_key = mix64(spec.seed + 0x9E3779B97F4A7C15ull);
  for (const auto& tensor : tensors) {
    size_t count = 1;
    for (const int64_t dim : tensor.shape) count *= static_cast<size_t>(dim);
    const bool norm = ends_with(tensor.name, "norm.weight");
    const auto scale =
        static_cast<float>(ends_with(tensor.name, ".bias") ? spec.bias_std : spec.weight_std);
    // Each value depends on (seed, name, index) only: chunking and threads
    // cannot change the bytes.
    const uint64_t key = mix64(seed_key ^ fnv1a(tensor.name));
    for (size_t begin = 0; begin < count; begin += kChunk) {
      const size_t n = std::min(kChunk, count - begin);
      if (norm) {
        std::fill_n(chunk.begin(), n, f32_to_bf16(1.0f));
      } else {
        ThreadPool::global().parallel_for(n, 16384, [&](size_t lo, size_t hi) {
          for (size_t i = lo; i < hi; ++i) {
            const uint64_t bits = mix64(key + (begin + i + 1) * 0x9E3779B97F4A7C15ull);
            chunk[i] = f32_to_bf16(scale * normalish(bits));
          }
        });
      }
      writer.append({reinterpret_cast<const uint8_t*>(chunk.data()), n * sizeof(uint16_t)});
      if (progress) progress(writer.data_written(), writer.data_bytes());
    }
  }
  writer.finish();
  info.safetensors_bytes = writer.file_bytes();
  return info;
}

}  // namespace

std::vector<std::string> random_checkpoint_presets() {
  return {"qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-3b"};
}

RandomCheckpointSpec random_checkpoint_preset(const std::string& like) {
  RandomCheckpointSpec spec;
  spec.name = like;
  if (like == "qwen2.5-0.5b") {
    spec.config = qwen25_config(896, 4864, 24, 14, 2);
  } else if (like == "qwen2.5-1.5b") {
    spec.config = qwen25_config(1536, 8960, 28, 12, 2);
  } else if (like == "qwen2.5-3b") {
    spec.config = qwen25_config(2048, 11008, 36, 16, 2);
  } else if (like == "tiny") {
    spec.config = qwen25_config(64, 128, 2, 4, 2);
    spec.config.vocab_size = 512;
    spec.tokenizer_learned_tokens = 490;
    spec.config.eos_token_ids = {490};
  } else {
    std::string names;
    for (const auto& name : random_checkpoint_presets())
      names += (names.empty() ? "" : ", ") + name;
    fail("unknown --like '{}' (expected one of: {})", like, names);
  }
  return spec;
}

std::vector<io::TensorSpec> qwen2_tensor_specs(const ModelConfig& config, DType dtype) {
  const int64_t hidden = config.hidden_size;
  std::vector<io::TensorSpec> specs;
  specs.push_back({"model.embed_tokens.weight", dtype, {config.vocab_size, hidden}});
  for (int64_t l = 0; l < config.num_layers; ++l) {
    for (const BlockTensor& tensor : block_tensors())
      specs.push_back({block_tensor_name(l, tensor), dtype, block_tensor_shape(config, tensor)});
  }
  specs.push_back({"model.norm.weight", dtype, {hidden}});
  if (!config.tie_word_embeddings) {
    specs.push_back({"lm_head.weight", dtype, {config.vocab_size, hidden}});
  }
  return specs;
}

RandomCheckpointInfo write_random_checkpoint(const std::string& dir,
                                             const RandomCheckpointSpec& spec,
                                             const WriteProgress& progress) {
  check_spec(spec, dir);
  const std::string config_text = config_json_text(spec);
  // The loader's own parser must accept what we are about to write.
  const ModelConfig parsed = io::parse_hf_config(config_text, dir + "/config.json");
  if (parsed.head_dim != spec.config.head_dim) {
    fail("{}: random checkpoint '{}': head_dim {} does not match the config", dir, spec.name,
         spec.config.head_dim);
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    fail("{}: exists and is not a folder", dir);
  }
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create folder: {}", dir, ec.message());

  const fs::path folder(dir);
  // config.json goes last: a folder interrupted part-way has none, so it
  // cannot be mistaken for a complete checkpoint.
  const RandomCheckpointInfo info =
      write_weights((folder / "model.safetensors").string(), spec, progress);
  tokenizer::SyntheticTokenizerOptions tokenizer_options;
  tokenizer_options.learned_tokens = spec.tokenizer_learned_tokens;
  tokenizer_options.model_max_length = spec.config.max_position_embeddings;
  tokenizer::write_synthetic_tokenizer(dir, tokenizer_options);
  io::write_file_atomic((folder / "generation_config.json").string(),
                        generation_config_json_text(spec));
  io::write_file_atomic((folder / "config.json").string(), config_text);
  return info;
}

}  // namespace tc::model
