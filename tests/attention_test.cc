// The fast attention kernels against their scalar reference twin, and the
// vectorized exp they use against std::exp.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/fast_exp.h"
#include "random_data.h"

namespace tc::kernels {
namespace {

using kv::kv_key_index;
using kv::kv_key_scale_index;
using kv::kv_scales_size;
using kv::kv_tile_size;
using kv::kv_tile_start;
using kv::kv_tiles_size;
using kv::kv_value_index;
using kv::kv_value_scale_index;
using test_data::random_vector;

struct Inputs {
  std::vector<float> q, k, v;
};

// Queries scaled up a little so some softmax rows are peaked, not flat.
Inputs random_inputs(int64_t n, int64_t start, const AttentionShape& s, uint32_t seed) {
  return {random_vector(static_cast<size_t>(n * s.heads * s.head_dim), seed, 2.0f),
          random_vector(static_cast<size_t>((start + n) * s.kv_heads * s.head_dim), seed + 1),
          random_vector(static_cast<size_t>((start + n) * s.kv_heads * s.head_dim), seed + 2)};
}

std::vector<float> run(bool fast, const Inputs& in, int64_t n, int64_t start,
                       const AttentionShape& s) {
  std::vector<float> out(in.q.size(), std::numeric_limits<float>::quiet_NaN());
  (fast ? attention_causal : attention_causal_reference)(in.q.data(), in.k.data(), in.v.data(), n,
                                                         start, s, out.data());
  return out;
}

// Fails unless max |got - want| <= 1e-5 · (1 + max |want|) (and nothing is NaN).
void expect_close(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  float max_want = 0.0f, max_error = 0.0f;
  size_t worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << "at " << i;
    max_want = std::max(max_want, std::fabs(want[i]));
    const float error = std::fabs(got[i] - want[i]);
    if (error > max_error) max_error = error, worst = i;
  }
  EXPECT_LE(max_error, 1e-5f * (1.0f + max_want))
      << "worst at " << worst << ": " << got[worst] << " vs " << want[worst];
}

// ((heads, kv_heads), head_dim)
using Heads = std::pair<int64_t, int64_t>;
using ShapeParam = std::tuple<Heads, int64_t>;

class AttentionFast : public ::testing::TestWithParam<ShapeParam> {};

TEST_P(AttentionFast, MatchesReferenceOnAwkwardLengths) {
  const auto [heads, head_dim] = GetParam();
  const AttentionShape shape{heads.first, heads.second, head_dim};
  for (const int64_t start : {0, 1, 300}) {
    for (const int64_t n : {1, 2, 7, 63, 64, 65, 129}) {
      SCOPED_TRACE(::testing::Message() << "n " << n << " start " << start);
      const Inputs in = random_inputs(n, start, shape, static_cast<uint32_t>(n * 1000 + start));
      expect_close(run(true, in, n, start, shape), run(false, in, n, start, shape));
    }
  }
}

std::string shape_name(const ::testing::TestParamInfo<ShapeParam>& info) {
  const Heads heads = std::get<0>(info.param);
  return "h" + std::to_string(heads.first) + "kv" + std::to_string(heads.second) + "d" +
         std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionFast,
    ::testing::Combine(::testing::Values(Heads{4, 2}, Heads{5, 1}, Heads{14, 2}, Heads{3, 3},
                                         Heads{6, 2}, Heads{12, 2}),
                       ::testing::Values(int64_t{20}, int64_t{32}, int64_t{64}, int64_t{128})),
    shape_name);

TEST(AttentionFast, LongContextDecodeMatchesReference) {
  // Qwen2.5-0.5B heads, a single kv head, and a head_dim that is no multiple
  // of 16 (the AVX2 step, with padded copies): split-K over 2048 keys, every
  // kv head per task.
  for (const AttentionShape shape :
       {AttentionShape{14, 2, 64}, AttentionShape{7, 1, 128}, AttentionShape{6, 3, 20}}) {
    const Inputs in = random_inputs(1, 2047, shape, 7);
    expect_close(run(true, in, 1, 2047, shape), run(false, in, 1, 2047, shape));
  }
}

// Keys or values rounded to fp16, as half bits and widened back.
struct HalfCache {
  std::vector<uint16_t> bits;
  std::vector<float> widened;
};
HalfCache to_half(const std::vector<float>& values) {
  HalfCache out{std::vector<uint16_t>(values.size()), std::vector<float>(values.size())};
  for (size_t i = 0; i < values.size(); ++i) {
    out.bits[i] = f32_to_f16(values[i]);
    out.widened[i] = f16_to_f32(out.bits[i]);
  }
  return out;
}

// Key and value rows ([positions][kv_heads][head_dim], fp32 or half bits)
// in KV tiles; the last block's unused slots hold NaN, which decode must
// ignore.
template <typename T>
std::vector<T> to_kv_tiles(const std::vector<T>& keys, const std::vector<T>& values,
                           const AttentionShape& s) {
  const int64_t row = s.kv_heads * s.head_dim;
  const auto positions = static_cast<int64_t>(keys.size()) / row;
  T nan{};
  if constexpr (std::is_same_v<T, uint16_t>) {
    nan = 0x7e00;  // fp16 NaN
  } else {
    nan = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<T> tiles(static_cast<size_t>(kv_tiles_size(positions, s.kv_heads, s.head_dim)), nan);
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t h = 0; h < s.kv_heads; ++h) {
      for (int64_t d = 0; d < s.head_dim; ++d) {
        const auto at = static_cast<size_t>(p * row + h * s.head_dim + d);
        tiles[static_cast<size_t>(kv_key_index(p, h, d, s.kv_heads, s.head_dim))] = keys[at];
        tiles[static_cast<size_t>(kv_value_index(p, h, d, s.kv_heads, s.head_dim))] = values[at];
      }
    }
  }
  return tiles;
}

// An int8 cache layer built here, apart from model/kv_cache: each
// position's head_dim keys (values) of a kv head as int8 with one fp16
// scale, max|x| / 127; the unused slots of the last block hold 0 and their
// scales NaN, which attention must ignore. `keys` and `values` are the rows
// the integers stand for (integer × scale), for the reference.
struct Int8Cache {
  std::vector<int8_t> tiles;
  std::vector<uint16_t> scales;
  std::vector<float> keys, values;
  KvView view() const { return {KvFormat::kI8, tiles.data(), scales.data()}; }
};
Int8Cache to_int8_cache(const std::vector<float>& keys, const std::vector<float>& values,
                        const AttentionShape& s) {
  const int64_t row = s.kv_heads * s.head_dim;
  const auto positions = static_cast<int64_t>(keys.size()) / row;
  Int8Cache out{
      std::vector<int8_t>(static_cast<size_t>(kv_tiles_size(positions, s.kv_heads, s.head_dim))),
      std::vector<uint16_t>(static_cast<size_t>(kv_scales_size(positions, s.kv_heads)), 0x7e00),
      keys, values};
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t h = 0; h < s.kv_heads; ++h) {
      for (const bool is_key : {true, false}) {
        std::vector<float>& x = is_key ? out.keys : out.values;
        float* first = x.data() + p * row + h * s.head_dim;
        float absmax = 0.0f;
        for (int64_t d = 0; d < s.head_dim; ++d) absmax = std::max(absmax, std::fabs(first[d]));
        const uint16_t scale_bits = f32_to_f16(absmax / 127.0f);
        const float scale = f16_to_f32(scale_bits);
        out.scales[static_cast<size_t>(is_key ? kv_key_scale_index(p, h, s.kv_heads)
                                              : kv_value_scale_index(p, h, s.kv_heads))] =
            scale_bits;
        for (int64_t d = 0; d < s.head_dim; ++d) {
          const auto q =
              static_cast<int8_t>(std::clamp(std::nearbyint(first[d] / scale), -127.0f, 127.0f));
          first[d] = static_cast<float>(q) * scale;
          out.tiles[static_cast<size_t>(is_key ? kv_key_index(p, h, d, s.kv_heads, s.head_dim)
                                               : kv_value_index(p, h, d, s.kv_heads, s.head_dim))] =
              q;
        }
      }
    }
  }
  return out;
}

// Decode over KV tiles against the reference on rows: fp32 tiles of the
// inputs, fp16 tiles of the inputs rounded to fp16 and int8 tiles of the
// inputs quantized (each against the reference on the keys and values the
// stored ones stand for).
void expect_tile_decode_matches_reference(const Inputs& in, int64_t start,
                                          const AttentionShape& shape) {
  std::vector<float> got(in.q.size(), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> want(in.q.size());
  {
    SCOPED_TRACE("fp32 cache");
    const std::vector<float> tiles = to_kv_tiles(in.k, in.v, shape);
    attention_decode(in.q.data(), start, {KvFormat::kF32, tiles.data()}, shape, got.data());
    attention_causal_reference(in.q.data(), in.k.data(), in.v.data(), 1, start, shape, want.data());
    expect_close(got, want);
  }
  SCOPED_TRACE("fp16 cache");
  const HalfCache k = to_half(in.k), v = to_half(in.v);
  const std::vector<uint16_t> tiles = to_kv_tiles(k.bits, v.bits, shape);
  std::fill(got.begin(), got.end(), std::numeric_limits<float>::quiet_NaN());
  attention_decode(in.q.data(), start, {KvFormat::kF16, tiles.data()}, shape, got.data());
  attention_causal_reference(in.q.data(), k.widened.data(), v.widened.data(), 1, start, shape,
                             want.data());
  expect_close(got, want);
  SCOPED_TRACE("int8 cache");
  const Int8Cache int8 = to_int8_cache(in.k, in.v, shape);
  std::fill(got.begin(), got.end(), std::numeric_limits<float>::quiet_NaN());
  attention_decode(in.q.data(), start, int8.view(), shape, got.data());
  attention_causal_reference(in.q.data(), int8.keys.data(), int8.values.data(), 1, start, shape,
                             want.data());
  expect_close(got, want);
}

TEST(AttentionFast, KvTilesHoldEachHeadsKeyTileThenItsValueTile) {
  // Two kv heads of dim 3, so a tile is 32 × 3 = 96 elements. Block 0: head
  // 0's key tile (3 rows of 32 positions), its value tile (32 rows of 3),
  // then head 1's two; block 1 (positions 32..63) follows.
  EXPECT_EQ(kv_tile_size(3), 96);
  EXPECT_EQ(kv_tile_start(5, 0, 2, 3), 0);
  EXPECT_EQ(kv_tile_start(5, 1, 2, 3), 2 * 96);
  EXPECT_EQ(kv_tile_start(33, 0, 2, 3), 4 * 96);
  EXPECT_EQ(kv_key_index(0, 0, 0, 2, 3), 0);
  EXPECT_EQ(kv_key_index(5, 0, 0, 2, 3), 5);
  EXPECT_EQ(kv_key_index(5, 0, 2, 2, 3), 2 * 32 + 5);
  EXPECT_EQ(kv_key_index(5, 1, 0, 2, 3), 2 * 96 + 5);
  EXPECT_EQ(kv_key_index(33, 0, 0, 2, 3), 4 * 96 + 1);
  EXPECT_EQ(kv_value_index(0, 0, 0, 2, 3), 96);
  EXPECT_EQ(kv_value_index(5, 0, 2, 2, 3), 96 + 5 * 3 + 2);
  EXPECT_EQ(kv_value_index(5, 1, 1, 2, 3), 3 * 96 + 5 * 3 + 1);
  EXPECT_EQ(kv_value_index(63, 1, 2, 2, 3), 7 * 96 + 31 * 3 + 2);
  EXPECT_EQ(kv_tiles_size(1, 2, 3), 4 * 96);
  EXPECT_EQ(kv_tiles_size(32, 2, 3), 4 * 96);
  EXPECT_EQ(kv_tiles_size(33, 2, 3), 8 * 96);
}

TEST(AttentionFast, DecodeFromKvTilesMatchesTheReference) {
  // Short contexts (a task per kv head), long ones (whole rows, split
  // across threads), a partial last block, head dims with and without the
  // AVX-512 step.
  // Groups of 7, 6, 8, 2 and 9 query heads per kv head (Qwen2.5-0.5B, -1.5B
  // and -3B among them; 9 takes the AVX-512 step's tiles of 8 rows and 1),
  // head dims 48 and 80 for its P·V tail of 16 dims.
  for (const AttentionShape shape :
       {AttentionShape{14, 2, 64}, AttentionShape{7, 1, 128}, AttentionShape{12, 2, 64},
        AttentionShape{16, 2, 128}, AttentionShape{6, 3, 20}, AttentionShape{4, 2, 32},
        AttentionShape{9, 1, 48}, AttentionShape{4, 2, 80}}) {
    for (const int64_t start : {0, 37, 700, 2047}) {
      SCOPED_TRACE("heads " + std::to_string(shape.heads) + "/" + std::to_string(shape.kv_heads) +
                   ", head_dim " + std::to_string(shape.head_dim) + ", start " +
                   std::to_string(start));
      expect_tile_decode_matches_reference(random_inputs(1, start, shape, 17), start, shape);
    }
  }
}

// Prefill over a cache layer (read a key block at a time from its KV
// tiles, fp16 widened, int8 times its scales) against the reference on the
// same keys and values as rows; the reference twin over the cache gives the
// reference's values exactly. Head dims with and without the AVX-512 tiles
// (20: padded values), queries starting inside a tile and across blocks.
void expect_prefill_from_tiles_matches_reference(const AttentionShape& shape, int64_t n,
                                                 int64_t start) {
  const Inputs in = random_inputs(n, start, shape, 23);
  std::vector<float> got(in.q.size());
  {
    SCOPED_TRACE("fp32 cache");
    const std::vector<float> want = run(false, in, n, start, shape);
    const std::vector<float> tiles = to_kv_tiles(in.k, in.v, shape);
    const KvView kv{KvFormat::kF32, tiles.data()};
    attention_prefill(in.q.data(), n, start, kv, shape, got.data());
    expect_close(got, want);
    attention_cached_reference(in.q.data(), n, start, kv, shape, got.data());
    EXPECT_EQ(got, want);
  }
  SCOPED_TRACE("fp16 cache");
  const HalfCache k = to_half(in.k), v = to_half(in.v);
  const std::vector<float> want = run(false, {in.q, k.widened, v.widened}, n, start, shape);
  const std::vector<uint16_t> tiles = to_kv_tiles(k.bits, v.bits, shape);
  const KvView kv{KvFormat::kF16, tiles.data()};
  attention_prefill(in.q.data(), n, start, kv, shape, got.data());
  expect_close(got, want);
  attention_cached_reference(in.q.data(), n, start, kv, shape, got.data());
  EXPECT_EQ(got, want);
  SCOPED_TRACE("int8 cache");
  const Int8Cache int8 = to_int8_cache(in.k, in.v, shape);
  const std::vector<float> want8 = run(false, {in.q, int8.keys, int8.values}, n, start, shape);
  attention_prefill(in.q.data(), n, start, int8.view(), shape, got.data());
  expect_close(got, want8);
  attention_cached_reference(in.q.data(), n, start, int8.view(), shape, got.data());
  EXPECT_EQ(got, want8);
}

TEST(AttentionFast, PrefillFromKvTilesMatchesTheReference) {
  for (const auto& [shape, n, start] :
       {std::tuple{AttentionShape{14, 2, 64}, int64_t{40}, int64_t{30}},
        std::tuple{AttentionShape{6, 3, 20}, int64_t{70}, int64_t{0}},
        std::tuple{AttentionShape{4, 1, 48}, int64_t{3}, int64_t{130}}}) {
    SCOPED_TRACE("head_dim " + std::to_string(shape.head_dim) + ", n " + std::to_string(n));
    expect_prefill_from_tiles_matches_reference(shape, n, start);
  }
}

TEST(AttentionFast, AKvFormatWithoutAKernelIsAnError) {
  const AttentionShape shape{2, 1, 16};
  const Inputs in = random_inputs(1, 3, shape, 5);
  const std::vector<float> tiles = to_kv_tiles(in.k, in.v, shape);
  const KvView unknown{static_cast<KvFormat>(99), tiles.data()};
  std::vector<float> out(in.q.size());
  EXPECT_THROW(attention_decode(in.q.data(), 3, unknown, shape, out.data()), Error);
  EXPECT_THROW(attention_prefill(in.q.data(), 1, 3, unknown, shape, out.data()), Error);
  EXPECT_THROW(attention_cached_reference(in.q.data(), 1, 3, unknown, shape, out.data()), Error);
  const std::vector<int8_t> int8_tiles(tiles.size());
  const KvView no_scales{KvFormat::kI8, int8_tiles.data(), nullptr};
  EXPECT_THROW(attention_decode(in.q.data(), 3, no_scales, shape, out.data()), Error);
  EXPECT_THROW(attention_prefill(in.q.data(), 1, 3, no_scales, shape, out.data()), Error);
}

TEST(AttentionFast, DecodeFollowsAMaximumThatRisesLate) {
  // Keys that grow 100-fold along the context: the running maximum of the
  // scores moves up by far more than e^x can take in late blocks, so the
  // step must track it and rescale what it has summed (it skips that work
  // while no score exceeds the maximum).
  for (const AttentionShape shape : {AttentionShape{14, 2, 64}, AttentionShape{4, 1, 48}}) {
    const int64_t start = 1500;
    Inputs in = random_inputs(1, start, shape, 13);
    const int64_t row = shape.kv_heads * shape.head_dim;
    for (int64_t p = 0; p <= start; ++p) {
      const float growth = 1.0f + 99.0f * static_cast<float>(p) / static_cast<float>(start);
      for (int64_t i = 0; i < row; ++i) in.k[static_cast<size_t>(p * row + i)] *= growth;
    }
    expect_close(run(true, in, 1, start, shape), run(false, in, 1, start, shape));
    // From the cache's layout (KV tiles), fp32 and fp16.
    expect_tile_decode_matches_reference(in, start, shape);
  }
}

TEST(AttentionFast, QueriesSeeOnlyEarlierKeys) {
  const AttentionShape shape{4, 2, 20};
  const int64_t n = 129, start = 3, changed = 70;  // position 70 lies inside a diagonal block
  Inputs in = random_inputs(n, start, shape, 11);
  const std::vector<float> before = run(true, in, n, start, shape);
  for (int64_t i = 0; i < shape.kv_heads * shape.head_dim; ++i) {
    in.k[changed * shape.kv_heads * shape.head_dim + i] = 1000.0f;
    in.v[changed * shape.kv_heads * shape.head_dim + i] = -1000.0f;
  }
  const std::vector<float> after = run(true, in, n, start, shape);
  const int64_t row = shape.heads * shape.head_dim;
  for (int64_t t = 0; t < n; ++t) {
    const bool sees = start + t >= changed;
    bool differs = false;
    for (int64_t i = t * row; i < (t + 1) * row; ++i) {
      differs |= before[i] != after[i];
    }
    EXPECT_EQ(differs, sees) << "position " << start + t;
  }
}

TEST(AttentionFast, ReadsNothingPastTheLastPosition) {
  // Keys and values past start + n are NaN; any read of them would show up.
  const AttentionShape shape{5, 1, 32};
  for (const auto& [n, start] : {std::pair<int64_t, int64_t>{1, 100}, {65, 35}}) {
    Inputs in = random_inputs(n, start, shape, 13);
    const std::vector<float> want = run(false, in, n, start, shape);
    in.k.resize(in.k.size() + 200, std::numeric_limits<float>::quiet_NaN());
    in.v.resize(in.v.size() + 200, std::numeric_limits<float>::quiet_NaN());
    expect_close(run(true, in, n, start, shape), want);
  }
}

// Distance in representable floats between two finite non-negative floats.
int64_t ulps(float a, float b) {
  return std::abs(int64_t{std::bit_cast<int32_t>(a)} - int64_t{std::bit_cast<int32_t>(b)});
}

TEST(FastExp, WithinTwoUlpOfStdExp) {
  std::vector<float> x;
  for (float v = -88.0f; v <= 88.0f; v += 0.0007f) x.push_back(v);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> small(-1.0f, 1.0f);
  for (int i = 0; i < 10000; ++i) x.push_back(small(rng));
  std::vector<float> y(x.size());
  exp_f32(x.data(), y.data(), static_cast<int64_t>(x.size()));
  int64_t worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = std::exp(x[i]);
    if (want < std::numeric_limits<float>::min()) continue;  // subnormals: next test
    const int64_t u = ulps(y[i], want);
    ASSERT_LE(u, 2) << "exp(" << x[i] << ") = " << y[i] << ", want " << want;
    worst = std::max(worst, u);
  }
  RecordProperty("worst_ulps", static_cast<int>(worst));
}

TEST(FastExp, SubnormalsAndEdges) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x;
  for (float v = -104.5f; v <= -87.0f; v += 0.001f) x.push_back(v);
  std::vector<float> y(x.size());
  exp_f32(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    // Subnormals have an absolute spacing of 2^-149; allow two of them.
    const float want = std::exp(x[i]);
    ASSERT_LE(std::fabs(y[i] - want), std::max(2 * std::ldexp(1.0f, -149), 2.5e-7f * want))
        << "exp(" << x[i] << ")";
  }
  const std::vector<float> edges = {-inf,  -1000.0f, 0.0f, 88.5f,
                                    89.0f, 1000.0f,  inf,  std::numeric_limits<float>::quiet_NaN(),
                                    1.0f};
  std::vector<float> out(edges.size());
  exp_f32(edges.data(), out.data(), static_cast<int64_t>(edges.size()));  // 8 + a tail of 1
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[2], 1.0f);
  EXPECT_NEAR(out[3], std::exp(88.5f), 2.5e-7f * std::exp(88.5f));
  EXPECT_EQ(out[4], inf);
  EXPECT_EQ(out[5], inf);
  EXPECT_EQ(out[6], inf);
  EXPECT_TRUE(std::isnan(out[7]));
  EXPECT_NEAR(out[8], std::exp(1.0f), 2.5e-7f * std::exp(1.0f));
}

}  // namespace
}  // namespace tc::kernels
