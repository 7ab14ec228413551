#include "model/kv_cache.h"

#include <algorithm>
#include <type_traits>

#include "core/dtype.h"
#include "core/error.h"
#include "kv/kv_layout.h"

namespace tc::model {

void KvCache::crop(int64_t n) {
  if (n < 0 || n > length_) fail("kv cache: cannot crop to {} tokens, it holds {}", n, length_);
  length_ = n;
}

namespace {

// fp16 saturates at the largest finite half (65504) rather than rounding
// to infinity: one huge key would otherwise turn its scores into inf or NaN.
template <typename T>
T narrow(float x) {
  if constexpr (std::is_same_v<T, float>) {
    return x;
  } else {
    constexpr float kMaxHalf = 65504.0f;
    return f32_to_f16(std::clamp(x, -kMaxHalf, kMaxHalf));  // NaN stays NaN
  }
}

// The cache in fp32 (T = float) or fp16 (T = uint16_t, IEEE half bits: half
// the memory). Each layer is kept in KV tiles (kv/kv_layout.h), the
// layout decode attention streams fastest, and attention reads them in place
// through view(). No scales: an fp16 half holds the value itself.
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
    std::vector<T>& tiles = layers_[static_cast<size_t>(layer)];
    ensure(tiles, pos + n);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < kv_heads_; ++h) {
        for (int64_t d = 0; d < head_dim_; ++d) {
          const int64_t row = t * kv_dim_ + h * head_dim_ + d;
          tiles[index(kv::kv_key_index(pos + t, h, d, kv_heads_, head_dim_))] =
              narrow<T>(keys[row]);
          tiles[index(kv::kv_value_index(pos + t, h, d, kv_heads_, head_dim_))] =
              narrow<T>(values[row]);
        }
      }
    }
  }

  KvView view(int64_t layer) const override {
    return {.format = format(), .tiles = layers_[static_cast<size_t>(layer)].data()};
  }

  KvFormat format() const override {
    return std::is_same_v<T, float> ? KvFormat::kF32 : KvFormat::kF16;
  }
  size_t bytes_per_token() const override {
    return 2 * layers_.size() * static_cast<size_t>(kv_dim_) * sizeof(T);
  }

 private:
  // Grows a layer's tiles to hold `tokens` positions (whole blocks).
  void ensure(std::vector<T>& tiles, int64_t tokens) const {
    const auto needed = index(kv::kv_tiles_size(tokens, kv_heads_, head_dim_));
    if (tiles.size() < needed) {
      // Geometric growth so a long generation does not reallocate every
      // step; whole blocks either way, so stored positions keep their places.
      tiles.resize(std::max(needed, tiles.size() * 2));
    }
  }

  static size_t index(int64_t i) { return static_cast<size_t>(i); }

  int64_t kv_heads_, head_dim_, kv_dim_;
  std::vector<std::vector<T>> layers_;  // per layer, KV tiles
};

}  // namespace

std::unique_ptr<KvCache> make_kv_cache(KvFormat format, const ModelConfig& config) {
  switch (format) {
    case KvFormat::kF32:
      return std::make_unique<TiledKvCache<float>>(config);
    case KvFormat::kF16:
      return std::make_unique<TiledKvCache<uint16_t>>(config);
  }
  fail("no KV cache stores the {} format", kv_format_name(format));
}

}  // namespace tc::model
