#include "model/kv_cache.h"

#include <algorithm>
#include <type_traits>

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

template <typename T>
T narrow(float x) {
  if constexpr (std::is_same_v<T, float>) {
    return x;
  } else {
    return f32_to_f16(x);
  }
}

// The cache in fp32 (T = float) or fp16 (T = uint16_t, IEEE half bits: half
// the memory). Keys are kept in key tiles (kernels/cpu/attention.h), the
// layout decode attention scores fastest, values as rows; decode reads both
// in place (read_decode). read() gives rows for prefill: keys copied out of
// their tiles, fp16 values widened, fp32 values in place.
template <typename T>
class TiledKvCache final : public KvCache {
 public:
  explicit TiledKvCache(const ModelConfig& config)
      : kv_heads_(config.num_kv_heads),
        head_dim_(config.head_dim),
        kv_dim_(config.kv_dim()),
        layers_(static_cast<size_t>(config.num_layers)) {}

  void write(int64_t layer, int64_t pos, int64_t n, const float* keys,
             const float* values) override {
    Layer& store = layers_[static_cast<size_t>(layer)];
    store.ensure(pos + n, kv_dim_);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < kv_heads_; ++h) {
        for (int64_t d = 0; d < head_dim_; ++d) {
          const int64_t row = t * kv_dim_ + h * head_dim_ + d;
          store.keys[tile_index(pos + t, h, d)] = narrow<T>(keys[row]);
          store.values[static_cast<size_t>(pos * kv_dim_ + row)] = narrow<T>(values[row]);
        }
      }
    }
  }

  View read(int64_t layer, int64_t end) override {
    const Layer& store = layers_[static_cast<size_t>(layer)];
    const auto count = static_cast<size_t>(end * kv_dim_);
    if (scratch_keys_.size() < count) scratch_keys_.resize(count);
    kernels::key_tiles_to_rows(store.keys.data(), end, kv_heads_, head_dim_, scratch_keys_.data());
    if constexpr (std::is_same_v<T, float>) {
      return {scratch_keys_.data(), store.values.data()};
    } else {
      if (scratch_values_.size() < count) scratch_values_.resize(count);
      for (size_t i = 0; i < count; ++i) scratch_values_[i] = f16_to_f32(store.values[i]);
      return {scratch_keys_.data(), scratch_values_.data()};
    }
  }

  DecodeView read_decode(int64_t layer) const override {
    const Layer& store = layers_[static_cast<size_t>(layer)];
    if constexpr (std::is_same_v<T, float>) {
      return {.keys = store.keys.data(), .values = store.values.data()};
    } else {
      return {.keys16 = store.keys.data(), .values16 = store.values.data()};
    }
  }

  KvFormat format() const override {
    return std::is_same_v<T, float> ? KvFormat::kF32 : KvFormat::kF16;
  }
  size_t bytes_per_token() const override {
    return 2 * layers_.size() * static_cast<size_t>(kv_dim_) * sizeof(T);
  }

 private:
  // One layer's storage, grown in whole key tiles.
  struct Layer {
    std::vector<T> keys;
    std::vector<T> values;

    void ensure(int64_t tokens, int64_t kv_dim) {
      const int64_t tiles = (tokens + kernels::kKeyTileTokens - 1) / kernels::kKeyTileTokens;
      const auto needed = static_cast<size_t>(tiles * kernels::kKeyTileTokens * kv_dim);
      if (keys.size() < needed) {
        // Geometric growth so a long generation does not reallocate every
        // step; whole tiles either way, so stored keys keep their places.
        const size_t grown = std::max(needed, keys.size() * 2);
        keys.resize(grown);
        values.resize(grown);
      }
    }
  };

  size_t tile_index(int64_t position, int64_t head, int64_t d) const {
    return static_cast<size_t>(kernels::key_tile_index(position, head, d, kv_heads_, head_dim_));
  }

  int64_t kv_heads_, head_dim_, kv_dim_;
  std::vector<Layer> layers_;
  std::vector<float> scratch_keys_, scratch_values_;
};

}  // namespace

std::unique_ptr<KvCache> make_kv_cache(KvFormat format, const ModelConfig& config) {
  if (format == KvFormat::kF16) return std::make_unique<TiledKvCache<uint16_t>>(config);
  return std::make_unique<TiledKvCache<float>>(config);
}

}  // namespace tc::model
