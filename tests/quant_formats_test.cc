// Quantized weight formats: the quantizers' rounding bounds and exact byte
// layout, the fast kernels against matmul_reference, and the error metric.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "dense_matrix.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"
#include "quant/error_stats.h"
#include "random_data.h"
#include "weights/quant_rules.h"

namespace tc::quant {
namespace {

using weights::kScaleGroup;
using weights::q4_quantize_value;
using weights::WeightFormat;
using weights::WeightMatrix;

using test_data::random_vector;

WeightMatrix random_f32(int64_t rows, int64_t cols, uint32_t seed) {
  const std::vector<float> v = random_vector(static_cast<size_t>(rows * cols), seed, 0.1f);
  return weights::make_f32_matrix(rows, cols, v.data());
}

std::vector<float> dequantize(const WeightMatrix& m) {
  std::vector<float> out(static_cast<size_t>(m.rows * m.cols));
  for (int64_t r = 0; r < m.rows; ++r) m.row_to_f32(r, out.data() + r * m.cols);
  return out;
}

TEST(QuantQ8Row, RoundTripWithinHalfAStep) {
  WeightMatrix dense = random_f32(17, 320, 1);
  // Row 3 all zero: scale 0, q 0.
  std::memset(dense.storage.data() + 3 * 320 * sizeof(float), 0, 320 * sizeof(float));
  for (const bool dynamic : {false, true}) {
    const WeightMatrix q = weights::convert_weights(
        dense, dynamic ? weights::WeightFormat::kQ8RowDynamic : weights::WeightFormat::kQ8Row);
    EXPECT_EQ(q.format, dynamic ? WeightFormat::kQ8RowDynamic : WeightFormat::kQ8Row);
    ASSERT_EQ(q.storage.size(), size_t{17 * 320});
    ASSERT_EQ(q.scales.size(), size_t{17 * 4});
    const std::vector<float> back = dequantize(q);
    for (int64_t r = 0; r < 17; ++r) {
      const float scale = q.row_scales()[r];
      float max_abs = 0.0f;
      for (int64_t c = 0; c < 320; ++c)
        max_abs = std::fmax(max_abs, std::fabs(dense.f32()[r * 320 + c]));
      EXPECT_EQ(scale, max_abs / 127.0f);
      for (int64_t c = 0; c < 320; ++c) {
        const size_t i = static_cast<size_t>(r * 320 + c);
        EXPECT_GE(q.i8()[i], -127);
        EXPECT_LE(std::fabs(dense.f32()[i] - back[i]), scale / 2 * (1 + 1e-5f) + 1e-12f);
      }
    }
    EXPECT_EQ(q.row_scales()[3], 0.0f);
    for (int64_t c = 0; c < 320; ++c) EXPECT_EQ(q.i8()[3 * 320 + c], 0);
  }
}

TEST(QuantQ8Row, ExactValuesAndHalfEvenRounding) {
  // max 127 -> scale 1: 2.5 -> 2, 3.5 -> 4, -0.5 -> 0 (half to even).
  const float values[] = {127.0f, 2.5f, 3.5f, -0.5f, -127.0f, 1.49f};
  const WeightMatrix q = weights::convert_weights(weights::make_f32_matrix(1, 6, values),
                                                  weights::WeightFormat::kQ8Row);
  EXPECT_EQ(q.row_scales()[0], 1.0f);
  const int8_t expected[] = {127, 2, 4, 0, -127, 1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(q.i8()[i], expected[i]) << i;
}

TEST(QuantQ4G128, RoundTripWithinHalfAStepExceptClamped) {
  WeightMatrix dense = random_f32(5, 320, 2);
  // Row 1, group 1 (columns 128..255) all zero.
  std::memset(dense.storage.data() + (320 + 128) * sizeof(float), 0, 128 * sizeof(float));
  const WeightMatrix q = weights::convert_weights(dense, weights::WeightFormat::kQ4G128);
  ASSERT_EQ(q.format, WeightFormat::kQ4G128);
  ASSERT_EQ(q.scales_per_row(), 3);
  ASSERT_EQ(q.storage.size(), size_t{5 * 160});
  ASSERT_EQ(q.scales.size(), size_t{5 * 3 * 2});
  const std::vector<float> back = dequantize(q);
  for (int64_t r = 0; r < 5; ++r) {
    for (int64_t g = 0; g < 3; ++g) {
      const float scale = f16_to_f32(q.group_scales()[r * 3 + g]);
      for (int64_t c = g * kScaleGroup; c < std::min<int64_t>(320, (g + 1) * kScaleGroup); ++c) {
        const size_t i = static_cast<size_t>(r * 320 + c);
        const float w = dense.f32()[i];
        if (w / scale > 7.5f || w / scale < -8.5f) continue;  // clamped
        EXPECT_LE(std::fabs(w - back[i]), scale / 2 * (1 + 1e-5f) + 1e-12f) << r << "," << c;
      }
    }
  }
  EXPECT_EQ(q.group_scales()[1 * 3 + 1], 0);
  for (int64_t c = 128; c < 256; ++c) EXPECT_EQ(back[static_cast<size_t>(320 + c)], 0.0f);
  // Clamping can only happen when fp16 rounding shrank the scale, by < 1 step.
  for (size_t i = 0; i < back.size(); ++i) {
    const int64_t r = static_cast<int64_t>(i) / 320, g = (static_cast<int64_t>(i) % 320) / 128;
    const float scale = f16_to_f32(q.group_scales()[r * 3 + g]);
    EXPECT_LE(std::fabs(dense.f32()[i] - back[i]), scale * 1.01f + 1e-12f);
  }
}

TEST(QuantQ4G128, PackedLayoutIsExact) {
  // One row, cols 320: groups of 128, 128, 64, each a ramp (q - 8)·s_g with max |w| = 8·s_g.
  const float s[] = {1.0f, 0.5f, 0.25f};
  std::vector<float> values(320);
  for (int64_t c = 0; c < 320; ++c) {
    const int q = static_cast<int>(c % 16) - 8;  // -8..7
    values[static_cast<size_t>(c)] = static_cast<float>(q) * s[c / 128];
  }
  const WeightMatrix q = weights::convert_weights(weights::make_f32_matrix(1, 320, values.data()),
                                                  weights::WeightFormat::kQ4G128);
  for (int g = 0; g < 3; ++g) {
    EXPECT_EQ(q.group_scales()[g], f32_to_f16(8.0f * s[g] / 7.0f)) << g;
  }
  // Check bytes against the reference rules, element by element.
  for (int64_t c = 0; c < 320; ++c) {
    const float scale = f16_to_f32(q.group_scales()[c / 128]);
    const int expected = q4_quantize_value(values[static_cast<size_t>(c)], scale) + 8;
    const uint8_t byte = q.storage.data()[c / 2];
    const int nibble = (c % 2 == 0) ? (byte & 0x0f) : (byte >> 4);
    EXPECT_EQ(nibble, expected) << c;
  }
  // A hand-packed case: scale exactly 1 (max |w| = 7 -> 7/7 = 1, exact in fp16).
  const float small[] = {7.0f, -7.0f, 0.0f, 1.0f, -1.0f};  // odd cols: last high nibble 0
  const WeightMatrix p = weights::convert_weights(weights::make_f32_matrix(1, 5, small),
                                                  weights::WeightFormat::kQ4G128);
  ASSERT_EQ(p.storage.size(), size_t{3});
  EXPECT_EQ(p.group_scales()[0], 0x3c00);  // fp16 1.0
  EXPECT_EQ(p.storage.data()[0], 0x1f);    // c0: 7+8=0xf low, c1: -7+8=0x1 high
  EXPECT_EQ(p.storage.data()[1], 0x98);    // c2: 0+8 low, c3: 1+8=9 high
  EXPECT_EQ(p.storage.data()[2], 0x07);    // c4: -1+8=7 low, padding 0
}

TEST(QuantQ4G128, ShortLastGroupHasItsOwnScale) {
  std::vector<float> values(2 * 320, 0.0f);
  for (int64_t r = 0; r < 2; ++r) {
    values[static_cast<size_t>(r * 320 + 0)] = 7.0f;     // group 0 scale 1
    values[static_cast<size_t>(r * 320 + 200)] = 14.0f;  // group 1 scale 2
    values[static_cast<size_t>(r * 320 + 319)] = -3.5f;  // group 2 (64 long) scale 0.5
  }
  const WeightMatrix q = weights::convert_weights(weights::make_f32_matrix(2, 320, values.data()),
                                                  weights::WeightFormat::kQ4G128);
  for (int64_t r = 0; r < 2; ++r) {
    EXPECT_EQ(q.group_scales()[r * 3 + 0], f32_to_f16(1.0f));
    EXPECT_EQ(q.group_scales()[r * 3 + 1], f32_to_f16(2.0f));
    EXPECT_EQ(q.group_scales()[r * 3 + 2], f32_to_f16(0.5f));
    const uint8_t* row = q.storage.data() + r * 160;
    EXPECT_EQ(row[0], 0x8f);
    EXPECT_EQ(row[100], 0x8f);
    EXPECT_EQ(row[159], 0x18);  // c318 = 0 -> 8 low, c319 = -7 -> 1 high
  }
}

// q8_g128: one fp16 scale per group of 128 inputs (the last group of 320
// is 64 long), max|w| / 127 rounded to fp16; every value within half a
// step of its weight except where the fp16 rounding of the scale made the
// weight overflow ±127 steps (then clamped, off by less than one step).
TEST(QuantQ8G128, GroupScalesAndRoundTripWithinHalfAStep) {
  const WeightMatrix dense = random_f32(3, 320, 41);
  const WeightMatrix q = weights::convert_weights(dense, WeightFormat::kQ8G128);
  ASSERT_EQ(q.scales_per_row(), 3);
  ASSERT_EQ(q.storage.size(), 3u * 320u);
  ASSERT_EQ(q.scales.size(), 3u * 3u * 2u);
  std::vector<float> row(320);
  for (int64_t r = 0; r < 3; ++r) {
    q.row_to_f32(r, row.data());
    for (int64_t g = 0; g < 3; ++g) {
      const int64_t begin = g * 128, end = std::min<int64_t>(320, begin + 128);
      float max_abs = 0.0f;
      for (int64_t c = begin; c < end; ++c)
        max_abs = std::max(max_abs, std::fabs(dense.f32()[r * 320 + c]));
      const uint16_t bits = q.group_scales()[r * 3 + g];
      EXPECT_EQ(bits, f32_to_f16(max_abs / 127.0f)) << "row " << r << " group " << g;
      const float scale = f16_to_f32(bits);
      for (int64_t c = begin; c < end; ++c) {
        const float w = dense.f32()[r * 320 + c];
        const int stored = q.i8()[r * 320 + c];
        EXPECT_EQ(row[c], scale * static_cast<float>(stored));
        const bool clamped = std::fabs(w / scale) > 127.0f;
        EXPECT_LE(std::fabs(w - row[c]), clamped ? scale : scale / 2 * (1 + 1e-6f))
            << "row " << r << " col " << c;
      }
    }
  }
}

// Every row of the format table: its name parses back to it, the bytes of
// a row and the stored shapes follow from its bits and group size, and an
// encoded row decodes within one step of the weights.
TEST(WeightFormatTable, EveryFormatIsConsistent) {
  const WeightMatrix dense = random_f32(2, 300, 43);
  for (const WeightFormat format :
       {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kF16, WeightFormat::kQ8Row,
        WeightFormat::kQ8RowDynamic, WeightFormat::kQ8G128, WeightFormat::kQ4G128}) {
    const weights::WeightFormatTraits& traits = weights::weight_format_traits(format);
    EXPECT_EQ(traits.format, format);
    EXPECT_EQ(weights::weight_format_from_name(traits.name), format);
    const WeightMatrix m = weights::convert_weights(dense, format);
    EXPECT_EQ(m.row_bytes(), (300 * traits.bits + 7) / 8) << traits.name;
    const std::vector<int64_t> values = weights::stored_value_shape(format, 2, 300);
    EXPECT_EQ(values[0] * values[1] * static_cast<int64_t>(dtype_size(traits.value_dtype)),
              static_cast<int64_t>(m.storage.size()))
        << traits.name;
    const std::vector<int64_t> scales = weights::stored_scale_shape(format, 2, 300);
    int64_t scale_count = scales.empty() ? 0 : 1;
    for (const int64_t d : scales) scale_count *= d;
    EXPECT_EQ(scale_count * static_cast<int64_t>(dtype_size(traits.scale_dtype)),
              static_cast<int64_t>(m.scales.size()))
        << traits.name;
    std::vector<float> row(300);
    for (int64_t r = 0; r < 2; ++r) {
      m.row_to_f32(r, row.data());
      for (int64_t c = 0; c < 300; ++c)
        ASSERT_NEAR(row[c], dense.f32()[r * 300 + c], traits.bits >= 16 ? 0.01 : 0.5)
            << traits.name << " row " << r << " col " << c;
    }
  }
  EXPECT_THROW(weights::weight_format_from_name("q3_k"), tc::Error);
}

TEST(QuantKernels, MatchReferenceOnAwkwardShapes) {
  for (const WeightFormat format :
       {WeightFormat::kQ8Row, WeightFormat::kQ8G128, WeightFormat::kQ4G128}) {
    for (const int64_t cols : {1, 7, 127, 128, 129, 255, 320, 896}) {
      for (const int64_t rows : {1, 3, 17, 64}) {
        const WeightMatrix dense =
            random_f32(rows, cols, static_cast<uint32_t>(rows * 1000 + cols));
        const WeightMatrix w = weights::convert_weights(dense, format);
        for (const int64_t n : {1, 2, 5, 17}) {
          const std::vector<float> x = random_vector(static_cast<size_t>(n * cols), 7);
          std::vector<float> fast(static_cast<size_t>(n * rows), -1.0f), slow(fast.size());
          kernels::matmul(w, x.data(), n, fast.data());
          kernels::matmul_reference(w, x.data(), n, slow.data());
          const float tolerance = 2e-6f * std::sqrt(static_cast<float>(cols)) + 1e-6f;
          // Decode of q8_row and q4_g128 quantizes x to 16 bits per group
          // of 128 (gemv.h); that path is tested with its bound in gemv_test.cc.
          if (n == 1 && format != WeightFormat::kQ8G128) continue;
          for (size_t i = 0; i < fast.size(); ++i) {
            ASSERT_NEAR(fast[i], slow[i], tolerance * (1.0f + std::fabs(slow[i])))
                << weights::weight_format_name(w.format) << " rows=" << rows << " cols=" << cols
                << " n=" << n << " i=" << i;
          }
        }
      }
    }
  }
}

// One matrix of random values in every weight-only format.
std::vector<WeightMatrix> every_packed_format(int64_t rows, int64_t cols, uint32_t seed) {
  const std::vector<float> values = random_vector(static_cast<size_t>(rows * cols), seed, 0.1f);
  std::vector<WeightMatrix> formats;
  for (const WeightFormat format : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kF16})
    formats.push_back(test_data::dense_matrix(format, rows, cols, values.data()));
  const WeightMatrix dense = weights::make_f32_matrix(rows, cols, values.data());
  formats.push_back(weights::convert_weights(dense, weights::WeightFormat::kQ8Row));
  formats.push_back(weights::convert_weights(dense, weights::WeightFormat::kQ8G128));
  formats.push_back(weights::convert_weights(dense, weights::WeightFormat::kQ4G128));
  return formats;
}

std::vector<float> reference_product(const WeightMatrix& w, const std::vector<float>& x,
                                     int64_t n) {
  std::vector<float> y(static_cast<size_t>(n * w.rows));
  kernels::matmul_reference(w, x.data(), n, y.data());
  return y;
}

// The prefill GEMM walks weights in panels of 64 rows x 128 inputs and
// tokens in blocks of 256 and tiles of 6, prefetching the next panel's block
// as it goes. 130 rows (three panels, the last of 2), 300 inputs (three
// blocks, the last of 44) and 300 tokens (two token blocks, tiles ending in
// 4 and 2) cross every one of those edges, for each stored format.
TEST(QuantKernels, PrefillGemmMatchesReferenceAcrossPanelsAndTokenBlocks) {
  constexpr int64_t kRows = 130, kCols = 300, kTokens = 300;
  const std::vector<WeightMatrix> formats = every_packed_format(kRows, kCols, 11);
  const std::vector<float> x = random_vector(static_cast<size_t>(kTokens * kCols), 12);
  for (const WeightMatrix& w : formats) {
    std::vector<float> fast(static_cast<size_t>(kTokens * kRows), -1.0f), slow(fast.size());
    kernels::matmul(w, x.data(), kTokens, fast.data());
    kernels::matmul_reference(w, x.data(), kTokens, slow.data());
    const float tolerance = 2e-6f * std::sqrt(static_cast<float>(kCols)) + 1e-6f;
    for (size_t i = 0; i < fast.size(); ++i) {
      ASSERT_NEAR(fast[i], slow[i], tolerance * (1.0f + std::fabs(slow[i])))
          << weights::weight_format_name(w.format) << " token " << i / kRows << " row "
          << i % kRows;
    }
  }
}

// A block of fewer than kPackFromTokens tokens skips packing: tiles of up
// to 4 tokens x 6 rows over reduction blocks of 512 inputs, quantized
// formats through a dequantized scratch block. 13 rows (tiles of 6, 6, 1),
// 1100 inputs (blocks of 512, 512 and 76, which ends in a partial vector),
// 2 to 7 tokens (tiles of 2, 3, 4, 4 + 1, 4 + 3) and 263 tokens (a packed
// block of 256, then a block of 7) cross those edges in every format.
TEST(QuantKernels, FewTokensMatchReferenceWithoutPacking) {
  constexpr int64_t kRows = 13, kCols = 1100;
  const std::vector<WeightMatrix> formats = every_packed_format(kRows, kCols, 21);
  for (const int64_t n : {2, 3, 5, 7, 263}) {
    const std::vector<float> x = random_vector(static_cast<size_t>(n * kCols), 22);
    for (const WeightMatrix& w : formats) {
      std::vector<float> fast(static_cast<size_t>(n * kRows), -1.0f);
      kernels::matmul(w, x.data(), n, fast.data());
      const std::vector<float> slow = reference_product(w, x, n);
      const float tolerance = 2e-6f * std::sqrt(static_cast<float>(kCols)) + 1e-6f;
      for (size_t i = 0; i < fast.size(); ++i) {
        ASSERT_NEAR(fast[i], slow[i], tolerance * (1.0f + std::fabs(slow[i])))
            << weights::weight_format_name(w.format) << " n " << n << " token " << i / kRows
            << " row " << i % kRows;
      }
    }
  }
}

// A layer's q, k and v in one job: targets of 3, 1 and 2 panels (the last
// ones partial) whose tasks the threads walk as one list, prefetching across
// target boundaries, here even between formats. 300 tokens take the packed
// GEMM in two token blocks; 5 tokens take each matmul's own path.
TEST(QuantKernels, SharedInputMatmulsMatchReference) {
  constexpr int64_t kCols = 300;
  const std::vector<WeightMatrix> a = every_packed_format(130, kCols, 21);
  const std::vector<WeightMatrix> b = every_packed_format(20, kCols, 22);
  const std::vector<WeightMatrix> c = every_packed_format(70, kCols, 23);
  for (const int64_t tokens : {5, 300}) {
    const std::vector<float> x = random_vector(static_cast<size_t>(tokens * kCols), 24);
    for (size_t f = 0; f < a.size(); ++f) {
      // The same format for all three, and a mix of three formats.
      for (const size_t g : {f, (f + 2) % a.size()}) {
        const WeightMatrix* weights[] = {&a[f], &b[g], &c[(g + 1) % c.size()]};
        std::vector<std::vector<float>> outputs;
        std::vector<kernels::MatmulTarget> targets;
        for (const WeightMatrix* w : weights)
          outputs.emplace_back(static_cast<size_t>(tokens * w->rows), -1.0f);
        for (size_t i = 0; i < 3; ++i) targets.push_back({weights[i], outputs[i].data()});
        kernels::matmul_same_input(targets, x.data(), tokens);
        const float tolerance = 2e-6f * std::sqrt(static_cast<float>(kCols)) + 1e-6f;
        for (size_t i = 0; i < 3; ++i) {
          const std::vector<float> expected = reference_product(*weights[i], x, tokens);
          for (size_t e = 0; e < expected.size(); ++e) {
            ASSERT_NEAR(outputs[i][e], expected[e], tolerance * (1.0f + std::fabs(expected[e])))
                << "target " << i << " (" << weights::weight_format_name(weights[i]->format)
                << "), tokens " << tokens << ", token " << e / weights[i]->rows << " row "
                << e % weights[i]->rows;
          }
        }
      }
    }
  }
  const std::vector<WeightMatrix> wider = every_packed_format(20, kCols + 1, 25);
  std::vector<float> x(static_cast<size_t>(kCols + 1)), out(150);
  const kernels::MatmulTarget mixed[] = {{&a[0], out.data()}, {&wider[0], out.data() + 130}};
  EXPECT_THROW(kernels::matmul_same_input(mixed, x.data(), 1), tc::Error);
}

// One token (decode) through a layer's q, k and v is one walk over their
// rows laid end to end (matmul.cc: gemv_avx512_together): claims that cross
// from one matrix into the next run as a piece per matrix. 1000, 130 and 130
// rows give both threads several claims, some crossing each edge; every row
// must be exactly what each matrix's own matmul gives (the same kernel on
// the same prepared x), for every format.
TEST(QuantKernels, OneTokenThroughSharedInputEqualsEachMatmul) {
  constexpr int64_t kCols = 300;
  const std::vector<WeightMatrix> a = every_packed_format(1000, kCols, 41);
  const std::vector<WeightMatrix> b = every_packed_format(130, kCols, 42);
  const std::vector<WeightMatrix> c = every_packed_format(130, kCols, 43);
  const std::vector<float> x = random_vector(kCols, 44, 3.0f);
  for (size_t f = 0; f < a.size(); ++f) {
    const WeightMatrix* weights[] = {&a[f], &b[f], &c[f]};
    std::vector<kernels::MatmulTarget> targets;
    std::vector<std::vector<float>> together, alone;
    for (const WeightMatrix* w : weights) {
      together.emplace_back(static_cast<size_t>(w->rows), -1.0f);
      alone.emplace_back(static_cast<size_t>(w->rows), -2.0f);
    }
    for (size_t i = 0; i < 3; ++i) targets.push_back({weights[i], together[i].data()});
    kernels::matmul_same_input(targets, x.data(), 1);
    for (size_t i = 0; i < 3; ++i) {
      kernels::matmul(*weights[i], x.data(), 1, alone[i].data());
      EXPECT_EQ(together[i], alone[i])
          << "target " << i << " (" << weights::weight_format_name(weights[i]->format) << ")";
    }
  }
}

// The MLP's gate and up in one job with SiLU·mul applied per task, against
// silu(x·gateᵀ) ⊙ (x·upᵀ) from the reference products, for every format;
// 5 tokens take the separate matmuls and silu_mul. One token (decode, whose
// int8 and int4 kernels quantize x: gemv_test) must equal those calls.
TEST(QuantKernels, SiluGateMatchesReference) {
  constexpr int64_t kRows = 130, kCols = 300;
  const std::vector<WeightMatrix> gates = every_packed_format(kRows, kCols, 31);
  const std::vector<WeightMatrix> ups = every_packed_format(kRows, kCols, 32);
  for (size_t f = 0; f < gates.size(); ++f) {
    const std::vector<float> x = random_vector(kCols, 35, 3.0f);
    std::vector<float> fused(kRows), scratch(kRows), gate_y(kRows), up_y(kRows);
    kernels::matmul_silu_gate(gates[f], ups[f], x.data(), 1, fused.data(), scratch.data());
    kernels::matmul(gates[f], x.data(), 1, gate_y.data());
    kernels::matmul(ups[f], x.data(), 1, up_y.data());
    kernels::silu_mul(gate_y.data(), up_y.data(), kRows);
    EXPECT_EQ(fused, gate_y) << weights::weight_format_name(gates[f].format);
  }
  for (const int64_t tokens : {5, 300}) {
    const std::vector<float> x = random_vector(static_cast<size_t>(tokens * kCols), 33, 3.0f);
    for (size_t f = 0; f < gates.size(); ++f) {
      std::vector<float> gate_y(static_cast<size_t>(tokens * kRows), -1.0f), up_y(gate_y.size());
      kernels::matmul_silu_gate(gates[f], ups[f], x.data(), tokens, gate_y.data(), up_y.data());
      const std::vector<float> g = reference_product(gates[f], x, tokens);
      const std::vector<float> u = reference_product(ups[f], x, tokens);
      // Each product is within tol (1 + |value|); silu' is at most 1.1.
      const double tol = 2e-6 * std::sqrt(static_cast<double>(kCols)) + 1e-6;
      for (size_t e = 0; e < g.size(); ++e) {
        const double silu = g[e] / (1.0 + std::exp(-double(g[e])));
        const double expected = silu * u[e];
        const double bound = 1.1 * std::fabs(u[e]) * tol * (1.0 + std::fabs(g[e])) +
                             std::fabs(silu) * tol * (1.0 + std::fabs(u[e])) +
                             1e-6 * (1.0 + std::fabs(expected));
        ASSERT_NEAR(gate_y[e], expected, bound)
            << weights::weight_format_name(gates[f].format) << ", tokens " << tokens << ", token "
            << e / kRows << " row " << e % kRows;
      }
    }
  }
  std::vector<float> x(kCols), out(2 * kRows);
  const std::vector<WeightMatrix> narrow = every_packed_format(kRows - 1, kCols, 34);
  EXPECT_THROW(
      kernels::matmul_silu_gate(gates[0], narrow[0], x.data(), 1, out.data(), out.data() + kRows),
      tc::Error);
}

TEST(QuantErrorStats, RelativeFrobeniusErrorKnownCase) {
  const float a[] = {3.0f, 0.0f, 0.0f, 4.0f};  // ‖A‖ = 5
  const float b[] = {3.0f, 1.0f, 0.0f, 4.0f};  // ‖A − B‖ = 1
  EXPECT_DOUBLE_EQ(relative_frobenius_error(weights::make_f32_matrix(2, 2, a),
                                            weights::make_f32_matrix(2, 2, b)),
                   0.2);
  EXPECT_EQ(relative_frobenius_error(weights::make_f32_matrix(2, 2, a),
                                     weights::make_f32_matrix(2, 2, a)),
            0.0);
  // Quantized matrices are read through row_to_f32: int8 error is small.
  const WeightMatrix dense = random_f32(8, 256, 3);
  const double e8 = relative_frobenius_error(
      dense, weights::convert_weights(dense, weights::WeightFormat::kQ8Row));
  const double e4 = relative_frobenius_error(
      dense, weights::convert_weights(dense, weights::WeightFormat::kQ4G128));
  EXPECT_GT(e8, 0.0);
  EXPECT_LT(e8, 0.02);
  EXPECT_GT(e4, e8);
  EXPECT_LT(e4, 0.2);
  EXPECT_THROW(relative_frobenius_error(dense, weights::make_f32_matrix(2, 2, a)), tc::Error);
}

}  // namespace
}  // namespace tc::quant
