#include "model/kv_cache.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/dtype.h"
#include "core/error.h"
#include "kv/kv_layout.h"

namespace tc::model {

void KvCache::crop(int64_t n) {
  if (n < 0 || n > length_) fail("kv cache: cannot crop to {} tokens, it holds {}", n, length_);
  length_ = n;
  forget_from(n);
}

namespace {

// fp16 saturates at the largest finite half (65504) rather than rounding
// to infinity: one huge key would otherwise turn its scores into inf or NaN.
uint16_t to_half(float x) {
  constexpr float kMaxHalf = 65504.0f;
  return f32_to_f16(std::clamp(x, -kMaxHalf, kMaxHalf));  // NaN stays NaN
}

// The cache in fp32 (T = float), fp16 (T = uint16_t, IEEE half bits: half
// the memory) or int8 (T = int8_t with fp16 scales: about a quarter). Each
// layer is kept in KV tiles (kv/kv_layout.h), the layout decode attention
// streams fastest, and attention reads them in place through view().
template <typename T>
class TiledKvCache final : public KvCache {
  static constexpr bool kScaled = std::is_same_v<T, int8_t>;

 public:
  explicit TiledKvCache(const ModelConfig& config)
      : kv_heads_(config.num_kv_heads),
        head_dim_(config.head_dim),
        kv_dim_(config.kv_dim()),
        layers_(static_cast<size_t>(config.num_layers)),
        scales_(kScaled ? layers_.size() : 0),
        written_(layers_.size(), 0) {}

  void write(int64_t layer, int64_t pos, int64_t n, const float* keys,
             const float* values) override {
    const auto l = static_cast<size_t>(layer);
    std::vector<T>& tiles = layers_[l];
    grow(tiles, kv::kv_tiles_size(pos + n, kv_heads_, head_dim_));
    if constexpr (kScaled) grow(scales_[l], kv::kv_scales_size(pos + n, kv_heads_));
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < kv_heads_; ++h) {
        const int64_t row = t * kv_dim_ + h * head_dim_;
        store(l, pos + t, h, keys + row, /*is_key=*/true);
        store(l, pos + t, h, values + row, /*is_key=*/false);
      }
    }
    written_[l] = std::max(written_[l], pos + n);
  }

  KvView view(int64_t layer) const override {
    const auto l = static_cast<size_t>(layer);
    return {.format = format(),
            .tiles = layers_[l].data(),
            .scales = kScaled ? scales_[l].data() : nullptr};
  }

  KvFormat format() const override {
    if constexpr (std::is_same_v<T, float>) return KvFormat::kF32;
    if constexpr (std::is_same_v<T, uint16_t>) return KvFormat::kF16;
    return KvFormat::kI8;
  }
  size_t bytes_per_token() const override { return layers_.size() * position_bytes(); }
  size_t stored_bytes() const override {
    size_t bytes = 0;
    for (const int64_t written : written_)
      bytes += static_cast<size_t>(std::min(written, length())) * position_bytes();
    return bytes;
  }
  size_t allocated_bytes() const override {
    size_t bytes = 0;
    for (const auto& tiles : layers_) bytes += tiles.capacity() * sizeof(T);
    for (const auto& scales : scales_) bytes += scales.capacity() * sizeof(uint16_t);
    return bytes;
  }

 private:
  void forget_from(int64_t n) override {
    for (int64_t& written : written_) written = std::min(written, n);
  }

  // Bytes one position takes in one layer: its keys and values in every kv
  // head, and their scales.
  size_t position_bytes() const {
    const auto heads = static_cast<size_t>(kv_heads_);
    return 2 * heads * static_cast<size_t>(head_dim_) * sizeof(T) +
           (kScaled ? 2 * heads * sizeof(uint16_t) : 0);
  }

  // Stores the head_dim values x of kv head h at `position` of layer l, as
  // its key or its value.
  void store(size_t l, int64_t position, int64_t h, const float* x, bool is_key) {
    const auto index = [&](int64_t d) {
      return static_cast<size_t>(is_key ? kv::kv_key_index(position, h, d, kv_heads_, head_dim_)
                                        : kv::kv_value_index(position, h, d, kv_heads_, head_dim_));
    };
    T* tiles = layers_[l].data();
    if constexpr (std::is_same_v<T, float>) {
      for (int64_t d = 0; d < head_dim_; ++d) tiles[index(d)] = x[d];
    } else if constexpr (std::is_same_v<T, uint16_t>) {
      for (int64_t d = 0; d < head_dim_; ++d) tiles[index(d)] = to_half(x[d]);
    } else {
      // Symmetric: scale = max|x| / 127, rounded to fp16 first so the
      // integers are chosen against the scale attention will multiply by.
      float absmax = 0.0f;
      for (int64_t d = 0; d < head_dim_; ++d) absmax = std::max(absmax, std::fabs(x[d]));
      const uint16_t scale_bits = to_half(absmax / 127.0f);
      const float scale = f16_to_f32(scale_bits);
      const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
      for (int64_t d = 0; d < head_dim_; ++d) {
        const float q = std::clamp(std::nearbyint(x[d] * inverse), -127.0f, 127.0f);
        tiles[index(d)] = static_cast<int8_t>(q);
      }
      const int64_t at = is_key ? kv::kv_key_scale_index(position, h, kv_heads_)
                                : kv::kv_value_scale_index(position, h, kv_heads_);
      scales_[l][static_cast<size_t>(at)] = scale_bits;
    }
  }

  // Grows storage to at least `needed` elements. Geometric growth so a long
  // generation does not reallocate every step; whole blocks either way, so
  // stored positions keep their places.
  template <typename E>
  static void grow(std::vector<E>& storage, int64_t needed) {
    const auto size = static_cast<size_t>(needed);
    if (storage.size() < size) storage.resize(std::max(size, storage.size() * 2));
  }

  int64_t kv_heads_, head_dim_, kv_dim_;
  std::vector<std::vector<T>> layers_;         // per layer, KV tiles
  std::vector<std::vector<uint16_t>> scales_;  // per layer, int8 only: fp16 scales
  std::vector<int64_t> written_;  // per layer, positions written (end of the last write)
};

}  // namespace

std::unique_ptr<KvCache> make_kv_cache(KvFormat format, const ModelConfig& config) {
  switch (format) {
    case KvFormat::kF32:
      return std::make_unique<TiledKvCache<float>>(config);
    case KvFormat::kF16:
      return std::make_unique<TiledKvCache<uint16_t>>(config);
    case KvFormat::kI8:
      return std::make_unique<TiledKvCache<int8_t>>(config);
  }
  fail("no KV cache stores the {} format", kv_format_name(format));
}

}  // namespace tc::model
