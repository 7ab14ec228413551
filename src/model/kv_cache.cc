#include "model/kv_cache.h"

#include <algorithm>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/cpu/attention.h"

namespace tc::model {

void KvCache::crop(int64_t n) {
  if (n < 0 || n > length_) fail("kv cache: cannot crop to {} tokens, it holds {}", n, length_);
  length_ = n;
}

std::string_view kv_format_name(KvFormat format) {
  return format == KvFormat::kF32 ? "f32" : "f16";
}

KvFormat parse_kv_format(std::string_view name) {
  if (name == "f32") return KvFormat::kF32;
  if (name == "f16") return KvFormat::kF16;
  fail("unknown KV cache format '{}' (use f32 or f16)", name);
}

namespace {

// Per-layer growable storage of T, [tokens, kv_dim] for keys and for values.
template <typename T>
struct LayerStore {
  std::vector<T> keys;
  std::vector<T> values;

  void ensure(int64_t tokens, int64_t kv_dim) {
    const size_t needed = static_cast<size_t>(tokens * kv_dim);
    if (keys.size() < needed) {
      // Geometric growth so a long generation does not reallocate every step.
      const size_t grown = std::max(needed, keys.size() * 2);
      keys.resize(grown);
      values.resize(grown);
    }
  }
};

class F32KvCache final : public KvCache {
 public:
  explicit F32KvCache(const ModelConfig& config)
      : kv_dim_(config.kv_dim()), layers_(static_cast<size_t>(config.num_layers)) {}

  void write(int64_t layer, int64_t pos, int64_t n, const float* keys,
             const float* values) override {
    auto& store = layers_[static_cast<size_t>(layer)];
    store.ensure(pos + n, kv_dim_);
    std::copy(keys, keys + n * kv_dim_, store.keys.begin() + pos * kv_dim_);
    std::copy(values, values + n * kv_dim_, store.values.begin() + pos * kv_dim_);
  }

  View read(int64_t layer, int64_t /*end*/) override {
    const auto& store = layers_[static_cast<size_t>(layer)];
    return {store.keys.data(), store.values.data()};
  }

  KvFormat format() const override { return KvFormat::kF32; }
  size_t bytes_per_token() const override {
    return 2 * layers_.size() * static_cast<size_t>(kv_dim_) * sizeof(float);
  }

 private:
  int64_t kv_dim_;
  std::vector<LayerStore<float>> layers_;
};

// Half the memory of fp32. Keys are kept in key tiles (kernels/cpu/attention.h),
// the layout decode attention scores fastest, values as rows. read() widens
// both into [end, kv_dim] rows in scratch buffers (prefill); decode reads the
// halves in place through read_f16().
class F16KvCache final : public KvCache {
 public:
  explicit F16KvCache(const ModelConfig& config)
      : kv_heads_(config.num_kv_heads),
        head_dim_(config.head_dim),
        kv_dim_(config.kv_dim()),
        layers_(static_cast<size_t>(config.num_layers)) {}

  void write(int64_t layer, int64_t pos, int64_t n, const float* keys,
             const float* values) override {
    auto& store = layers_[static_cast<size_t>(layer)];
    // Whole tiles: the values grow alike, so both stay in step.
    store.ensure(round_up_to_tile(pos + n), kv_dim_);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < kv_heads_; ++h) {
        for (int64_t d = 0; d < head_dim_; ++d) {
          const int64_t row = t * kv_dim_ + h * head_dim_ + d;
          store.keys[tile_index(pos + t, h, d)] = f32_to_f16(keys[row]);
          store.values[static_cast<size_t>(pos * kv_dim_ + row)] = f32_to_f16(values[row]);
        }
      }
    }
  }

  View read(int64_t layer, int64_t end) override {
    const auto& store = layers_[static_cast<size_t>(layer)];
    const size_t count = static_cast<size_t>(end * kv_dim_);
    if (scratch_keys_.size() < count) {
      scratch_keys_.resize(count);
      scratch_values_.resize(count);
    }
    for (int64_t p = 0; p < end; ++p) {
      for (int64_t h = 0; h < kv_heads_; ++h) {
        for (int64_t d = 0; d < head_dim_; ++d)
          scratch_keys_[static_cast<size_t>(p * kv_dim_ + h * head_dim_ + d)] =
              f16_to_f32(store.keys[tile_index(p, h, d)]);
      }
    }
    for (size_t i = 0; i < count; ++i) scratch_values_[i] = f16_to_f32(store.values[i]);
    return {scratch_keys_.data(), scratch_values_.data()};
  }

  HalfView read_f16(int64_t layer) const override {
    const auto& store = layers_[static_cast<size_t>(layer)];
    return {store.keys.data(), store.values.data()};
  }

  KvFormat format() const override { return KvFormat::kF16; }
  size_t bytes_per_token() const override {
    return 2 * layers_.size() * static_cast<size_t>(kv_dim_) * sizeof(uint16_t);
  }

 private:
  static int64_t round_up_to_tile(int64_t positions) {
    return (positions + kernels::kKeyTileTokens - 1) / kernels::kKeyTileTokens *
           kernels::kKeyTileTokens;
  }
  size_t tile_index(int64_t position, int64_t head, int64_t d) const {
    return static_cast<size_t>(kernels::key_tile_index(position, head, d, kv_heads_, head_dim_));
  }

  int64_t kv_heads_, head_dim_, kv_dim_;
  std::vector<LayerStore<uint16_t>> layers_;
  std::vector<float> scratch_keys_, scratch_values_;
};

}  // namespace

std::unique_ptr<KvCache> make_kv_cache(KvFormat format, const ModelConfig& config) {
  if (format == KvFormat::kF16) return std::make_unique<F16KvCache>(config);
  return std::make_unique<F32KvCache>(config);
}

}  // namespace tc::model
