// dtype conversions, the thread pool and the KV cache.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/attention.h"
#include "model/kv_cache.h"

namespace tc {
namespace {

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  // 1 + 2^-8 is exactly half way between two bf16 values: rounds to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // 1 + 3·2^-8 is half way too: rounds up to the even 1 + 2^-6.
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(-INFINITY)), -INFINITY);
}

TEST(DType, Fp16ConversionsAreExactWhereRepresentable) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);               // rounds to Inf
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -26)), 0x0000);  // below half of it
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7c00), INFINITY);
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  // Every fp16 value survives a round trip through fp32.
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto half = static_cast<uint16_t>(bits);
    const float value = f16_to_f32(half);
    if (std::isnan(value)) continue;
    ASSERT_EQ(f32_to_f16(value), half) << bits;
  }
}

TEST(DType, ParsesSafetensorsNames) {
  EXPECT_EQ(parse_dtype("BF16"), DType::kBF16);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
  EXPECT_FALSE(parse_dtype("F8_E4M3").has_value());
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  ThreadPool pool(3);
  for (const size_t n : {0u, 1u, 5u, 1000u}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, 4, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) hits[i]++;
    });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n " << n << " i " << i;
  }
}

TEST(KvCache, ParsesFormatNames) {
  EXPECT_EQ(model::parse_kv_format("f32"), model::KvFormat::kF32);
  EXPECT_EQ(model::parse_kv_format("f16"), model::KvFormat::kF16);
  EXPECT_EQ(model::kv_format_name(model::KvFormat::kF32), "f32");
  EXPECT_EQ(model::kv_format_name(model::KvFormat::kF16), "f16");
  EXPECT_EQ(model::parse_kv_format("int8"), model::KvFormat::kI8);
  EXPECT_EQ(model::kv_format_name(model::KvFormat::kI8), "int8");
  try {
    model::parse_kv_format("int4");
    FAIL() << "int4 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'int4' (known: f32, f16, int8)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(model::kv_format_name(static_cast<model::KvFormat>(99)), Error);
}

model::ModelConfig attention_config(int64_t layers, int64_t heads, int64_t kv_heads,
                                    int64_t head_dim) {
  model::ModelConfig config;
  config.num_layers = layers;
  config.num_heads = heads;
  config.num_kv_heads = kv_heads;
  config.head_dim = head_dim;
  return config;
}

// A cache layer's first `positions` keys and values as fp32 rows, read the
// way attention reads them (kv_tiles_to_rows over the cache's view).
struct KvRows {
  std::vector<float> keys, values;
};
KvRows read_rows(const model::KvCache& cache, int64_t layer, int64_t positions,
                 const model::ModelConfig& config) {
  KvRows rows{std::vector<float>(static_cast<size_t>(positions * config.kv_dim())),
              std::vector<float>(static_cast<size_t>(positions * config.kv_dim()))};
  kernels::kv_tiles_to_rows(cache.view(layer), positions, config.num_kv_heads, config.head_dim,
                            rows.keys.data(), rows.values.data());
  return rows;
}

TEST(KvCache, StoresCropsAndRewrites) {
  const model::ModelConfig config = attention_config(2, 2, 1, 4);
  for (const auto format : {model::KvFormat::kF32, model::KvFormat::kF16}) {
    auto cache = model::make_kv_cache(format, config);
    std::vector<float> keys(3 * 4), values(3 * 4);
    for (size_t i = 0; i < keys.size(); ++i) {
      keys[i] = 0.5f * static_cast<float>(i);
      values[i] = -0.25f * static_cast<float>(i);
    }
    for (int64_t layer = 0; layer < 2; ++layer)
      cache->write(layer, 0, 3, keys.data(), values.data());
    cache->commit(3);
    EXPECT_EQ(cache->length(), 3);
    const KvRows rows = read_rows(*cache, 1, 3, config);
    EXPECT_EQ(rows.keys, keys);  // exactly representable in fp16 too
    EXPECT_EQ(rows.values, values);
    // In place: KV tiles (one kv head of dim 4): the key tile, dimension d
    // of position p at d · 32 + p, then the value tile, at 128 + p · 4 + d;
    // fp32 or fp16 as the tag says, no scales.
    const model::KvView in_place = cache->view(1);
    EXPECT_EQ(in_place.format, format);
    EXPECT_EQ(in_place.scales, nullptr);
    const bool f16 = format == model::KvFormat::kF16;
    const auto* tiles = static_cast<const float*>(in_place.tiles);
    const auto* tiles16 = static_cast<const uint16_t*>(in_place.tiles);
    for (int64_t p = 0; p < 3; ++p) {
      for (int64_t d = 0; d < 4; ++d) {
        const auto i = static_cast<size_t>(p * 4 + d);
        const auto key = static_cast<size_t>(d * 32 + p);
        const auto value = static_cast<size_t>(128 + p * 4 + d);
        if (f16) {
          EXPECT_EQ(tiles16[key], f32_to_f16(keys[i]));
          EXPECT_EQ(tiles16[value], f32_to_f16(values[i]));
        } else {
          EXPECT_EQ(tiles[key], keys[i]);
          EXPECT_EQ(tiles[value], values[i]);
        }
      }
    }
    cache->crop(1);
    EXPECT_EQ(cache->length(), 1);
    const std::vector<float> replacement(4, 7.0f);
    for (int64_t layer = 0; layer < 2; ++layer) {
      cache->write(layer, 1, 1, replacement.data(), replacement.data());
    }
    cache->commit(1);
    const KvRows rewritten = read_rows(*cache, 0, 2, config);
    EXPECT_EQ(rewritten.keys[4], 7.0f);
    EXPECT_EQ(rewritten.keys[0], 0.0f);
    EXPECT_THROW(cache->crop(5), Error);
    EXPECT_EQ(cache->bytes_per_token(), 2u * 2u * 4u * (format == model::KvFormat::kF32 ? 4u : 2u));
  }
}

TEST(KvCache, Fp16SaturatesWhatItCannotHold) {
  // Past 65504 fp16 would round to infinity, and an infinite key turns its
  // scores into inf or NaN; the cache stores the largest finite half.
  const model::ModelConfig config = attention_config(1, 2, 1, 4);
  auto cache = model::make_kv_cache(model::KvFormat::kF16, config);
  const std::vector<float> keys = {1e6f, -7e4f, 65504.0f, 3.0f};
  const std::vector<float> values = {-1e9f, 65519.0f, 0.5f, -65504.0f};
  cache->write(0, 0, 1, keys.data(), values.data());
  cache->commit(1);
  const KvRows rows = read_rows(*cache, 0, 1, config);
  EXPECT_EQ(rows.keys, (std::vector<float>{65504.0f, -65504.0f, 65504.0f, 3.0f}));
  EXPECT_EQ(rows.values, (std::vector<float>{-65504.0f, 65504.0f, 0.5f, -65504.0f}));
}

TEST(KvCache, ReadsBackPositionsAcrossTileBlocksAndGrowth) {
  // Two kv heads, 70 positions written 33, 1 and 36 at a time: three blocks
  // of KV tiles, a write straddling a block edge, and storage that grows
  // while holding data.
  const model::ModelConfig config = attention_config(1, 4, 2, 8);
  const int64_t kv_dim = 16, positions = 70;
  std::vector<float> keys(static_cast<size_t>(positions * kv_dim)), values(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    keys[i] = static_cast<float>(i % 1000);  // integers: exact in fp16
    values[i] = -static_cast<float>((7 * i) % 1000);
  }
  for (const auto format : {model::KvFormat::kF32, model::KvFormat::kF16}) {
    auto cache = model::make_kv_cache(format, config);
    int64_t pos = 0;
    for (const int64_t n : {33, 1, 36}) {
      cache->write(0, pos, n, keys.data() + pos * kv_dim, values.data() + pos * kv_dim);
      cache->commit(n);
      pos += n;
    }
    const KvRows rows = read_rows(*cache, 0, positions, config);
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSERT_EQ(rows.keys[i], keys[i]) << "key element " << i;
      ASSERT_EQ(rows.values[i], values[i]) << "value element " << i;
    }
  }
}

TEST(KvCache, Int8StoresIntegersWithOneScalePerPositionAndHead) {
  // Two layers, two kv heads of dim 4: position p's key row of head h is
  // scaled by max|x| / 127 (rounded to fp16), its integers rounded to
  // nearest; the scales sit per block and head, 32 key scales then 32
  // value scales.
  const model::ModelConfig config = attention_config(2, 4, 2, 4);
  auto cache = model::make_kv_cache(model::KvFormat::kI8, config);
  EXPECT_EQ(cache->format(), model::KvFormat::kI8);
  const std::vector<float> keys = {
      1.0f, -2.0f, 0.5f,  0.0f, 0,     0,     0,    0,  // head 1: all zero
      3.0f, 1.5f,  -6.0f, 2.0f, 0.25f, -0.5f, 1.0f, 0.75f};
  std::vector<float> values(keys.size());
  for (size_t i = 0; i < values.size(); ++i) values[i] = -keys[i] * 4.0f;
  for (int64_t layer = 0; layer < 2; ++layer) cache->write(layer, 0, 2, keys.data(), values.data());
  cache->commit(2);
  const model::KvView view = cache->view(1);
  ASSERT_NE(view.scales, nullptr);
  const auto* tiles = static_cast<const int8_t*>(view.tiles);
  // Position 0, head 0: scale fp16(2/127); -2 → -127, 1 → round(1 / scale).
  const float scale = f16_to_f32(f32_to_f16(2.0f / 127.0f));
  EXPECT_EQ(view.scales[kv::kv_key_scale_index(0, 0, 2)], f32_to_f16(2.0f / 127.0f));
  EXPECT_EQ(view.scales[kv::kv_value_scale_index(0, 0, 2)], f32_to_f16(8.0f / 127.0f));
  EXPECT_EQ(tiles[kv::kv_key_index(0, 0, 1, 2, 4)], -127);
  EXPECT_EQ(tiles[kv::kv_key_index(0, 0, 0, 2, 4)],
            static_cast<int8_t>(std::nearbyint(1.0f / scale)));
  EXPECT_EQ(view.scales[kv::kv_key_scale_index(0, 1, 2)], 0) << "an all-zero head: scale 0";
  EXPECT_EQ(tiles[kv::kv_key_index(0, 1, 2, 2, 4)], 0);
  // Read back (integer × scale): within half a step of each element.
  const KvRows rows = read_rows(*cache, 1, 2, config);
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t head = i / 4;
    float absmax = 0.0f;
    for (size_t d = 0; d < 4; ++d) absmax = std::max(absmax, std::fabs(keys[head * 4 + d]));
    EXPECT_NEAR(rows.keys[i], keys[i], 0.5f * absmax / 127.0f * 1.01f) << "key " << i;
    EXPECT_NEAR(rows.values[i], values[i], 4 * 0.5f * absmax / 127.0f * 1.01f) << "value " << i;
  }
  // Keys and values of 2 heads × 4 dims as int8, and 2 × 2 fp16 scales, per layer.
  EXPECT_EQ(cache->bytes_per_token(), 2u * (2u * 8u * 1u + 2u * 2u * 2u));
  cache->crop(1);
  const std::vector<float> replacement(8, -7.0f);
  for (int64_t layer = 0; layer < 2; ++layer)
    cache->write(layer, 1, 1, replacement.data(), replacement.data());
  cache->commit(1);
  const float rewritten_scale = f16_to_f32(f32_to_f16(7.0f / 127.0f));
  EXPECT_EQ(read_rows(*cache, 0, 2, config).keys[8], -127.0f * rewritten_scale);
}

TEST(KvCache, StoredBytesCountWhatTheLayersHoldAndAllocatedCoversIt) {
  // Three layers, two kv heads of dim 8, 40 positions: two blocks of tiles,
  // the second holding 8 of its 32 positions.
  const model::ModelConfig config = attention_config(3, 4, 2, 8);
  const std::vector<float> rows(40 * 16, 0.5f);
  for (const auto format : {model::KvFormat::kF32, model::KvFormat::kF16, model::KvFormat::kI8}) {
    SCOPED_TRACE(std::string(model::kv_format_name(format)));
    auto cache = model::make_kv_cache(format, config);
    EXPECT_EQ(cache->stored_bytes(), 0u);
    EXPECT_EQ(cache->allocated_bytes(), 0u);
    for (int64_t layer = 0; layer < 3; ++layer)
      cache->write(layer, 0, 40, rows.data(), rows.data());
    cache->commit(40);
    EXPECT_EQ(cache->stored_bytes(), 40 * cache->bytes_per_token());
    // Whole blocks are allocated: 64 positions' worth at least.
    EXPECT_GE(cache->allocated_bytes(), 64 * cache->bytes_per_token());
    cache->crop(10);
    EXPECT_EQ(cache->stored_bytes(), 10 * cache->bytes_per_token());
    // A position written to two layers of three counts in those two only.
    for (int64_t layer = 0; layer < 2; ++layer)
      cache->write(layer, 10, 1, rows.data(), rows.data());
    cache->commit(1);
    EXPECT_EQ(cache->stored_bytes(), 11 * cache->bytes_per_token() - cache->bytes_per_token() / 3);
  }
}

}  // namespace
}  // namespace tc
