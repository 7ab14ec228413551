// The int4 and int8 decode kernels against their references: the split of
// x into int8 halves (scalar and AVX-512 write the same bytes, and the
// halves rebuild x within half a step), the VNNI kernels against their
// scalar twins and against the fp32 reference, and the fp32-widening
// AVX-512 kernels that CPUs without VNNI use.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/matmul.h"
#include "random_data.h"
#include "weights/weight_matrix.h"

namespace tc::kernels {
namespace {

constexpr int64_t kAwkwardCols[] = {1, 7, 127, 128, 129, 255, 320, 896, 4864};

using test_data::random_vector;

WeightMatrix random_q4(int64_t rows, int64_t cols, uint32_t seed) {
  const std::vector<float> v = random_vector(static_cast<size_t>(rows * cols), seed, 0.1f);
  return weights::convert_weights(weights::make_f32_matrix(rows, cols, v.data()),
                                  weights::WeightFormat::kQ4G128);
}

WeightMatrix random_q8(int64_t rows, int64_t cols, uint32_t seed) {
  const std::vector<float> v = random_vector(static_cast<size_t>(rows * cols), seed, 0.1f);
  return weights::convert_weights(weights::make_f32_matrix(rows, cols, v.data()),
                                  weights::WeightFormat::kQ8Row);
}

// The two formats with VNNI decode kernels, and the x layout each reads.
constexpr WeightFormat kSplitFormats[] = {WeightFormat::kQ4G128, WeightFormat::kQ8Row};

SplitLayout layout_of(WeightFormat format) {
  return format == WeightFormat::kQ4G128 ? SplitLayout::kNibblePairs : SplitLayout::kBytes;
}

WeightMatrix random_matrix(WeightFormat format, int64_t rows, int64_t cols, uint32_t seed) {
  return format == WeightFormat::kQ4G128 ? random_q4(rows, cols, seed)
                                         : random_q8(rows, cols, seed);
}

// Σ_c |w_c · x_c| over row r (dequantized): the scale of fp32 summation error.
double magnitude(const WeightMatrix& w, int64_t r, const std::vector<float>& x) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  w.row_to_f32(r, row.data());
  double sum = 0.0;
  for (size_t c = 0; c < row.size(); ++c) sum += std::fabs(double(row[c]) * x[c]);
  return sum;
}

// Owns the three arrays of a SplitX.
struct SplitBuffers {
  explicit SplitBuffers(int64_t cols)
      : groups((cols + kSplitGroup - 1) / kSplitGroup),
        parts(static_cast<size_t>(groups * kSplitGroupBytes)),
        scales(static_cast<size_t>(groups)),
        corrections(static_cast<size_t>(groups * kSplitLanes)) {}
  SplitX view() const { return {parts.data(), scales.data(), corrections.data()}; }
  int64_t groups;
  AlignedBuffer<int8_t> parts;
  AlignedBuffer<float> scales;
  AlignedBuffer<int32_t> corrections;
};

// Byte of input `within` in its group's half.
int64_t split_byte(SplitLayout layout, int64_t within) {
  return layout == SplitLayout::kNibblePairs ? within / 2 + (within % 2) * 64 : within;
}

// q of input c as the halves store it.
int32_t split_q(SplitLayout layout, const SplitBuffers& split, int64_t c) {
  const int64_t byte = c / kSplitGroup * kSplitGroupBytes + split_byte(layout, c % kSplitGroup);
  return 256 * split.parts[static_cast<size_t>(byte)] +
         split.parts[static_cast<size_t>(byte + 128)];
}

// x with a few special groups: all zero, one tiny, one large.
std::vector<float> awkward_x(int64_t cols, uint32_t seed) {
  std::vector<float> x = random_vector(static_cast<size_t>(cols), seed);
  for (int64_t c = 128; c < std::min<int64_t>(cols, 256); ++c) x[static_cast<size_t>(c)] = 0.0f;
  for (int64_t c = 256; c < std::min<int64_t>(cols, 384); ++c) x[static_cast<size_t>(c)] *= 1e-30f;
  for (int64_t c = 384; c < std::min<int64_t>(cols, 512); ++c) x[static_cast<size_t>(c)] *= 1e20f;
  return x;
}

TEST(SplitX, HalvesRebuildXWithinHalfAStep) {
  for (const SplitLayout layout : {SplitLayout::kNibblePairs, SplitLayout::kBytes}) {
    const int32_t zero = layout == SplitLayout::kNibblePairs ? 8 : 128;
    for (const int64_t cols : kAwkwardCols) {
      const std::vector<float> x = awkward_x(cols, static_cast<uint32_t>(cols));
      SplitBuffers split(cols);
      split_x(layout, x.data(), cols, split.parts.data(), split.scales.data(),
              split.corrections.data());
      for (int64_t g = 0; g < split.groups; ++g) {
        const float s = split.scales[static_cast<size_t>(g)];
        float max_abs = 0.0f;
        for (int64_t c = g * kSplitGroup; c < std::min(cols, (g + 1) * kSplitGroup); ++c)
          max_abs = std::max(max_abs, std::fabs(x[static_cast<size_t>(c)]));
        EXPECT_EQ(s, max_abs / 32512.0f) << "cols " << cols << " group " << g;
        int64_t lane_sums[kSplitLanes] = {};
        for (int64_t within = 0; within < kSplitGroup; ++within) {
          const int64_t c = g * kSplitGroup + within;
          const int32_t q = split_q(layout, split, c);
          ASSERT_LE(std::abs(q), 32512);
          const float xc = c < cols ? x[static_cast<size_t>(c)] : 0.0f;
          ASSERT_LE(std::fabs(xc - s * static_cast<float>(q)), 0.51f * s + 1e-38f)
              << "cols " << cols << " input " << c;
          lane_sums[split_byte(layout, within) % 64 / 4] += q;
        }
        for (int lane = 0; lane < kSplitLanes; ++lane) {
          EXPECT_EQ(split.corrections[static_cast<size_t>(g * kSplitLanes + lane)],
                    -zero * lane_sums[lane]);
        }
      }
    }
  }
}

TEST(SplitX, NonFiniteGroupHasNanScale) {
  std::vector<float> x = random_vector(300, 3);
  x[140] = std::numeric_limits<float>::infinity();
  x[290] = std::numeric_limits<float>::quiet_NaN();
  SplitBuffers split(300);
  split_x(SplitLayout::kNibblePairs, x.data(), 300, split.parts.data(), split.scales.data(),
          split.corrections.data());
  EXPECT_FALSE(std::isnan(split.scales[0]));
  EXPECT_TRUE(std::isnan(split.scales[1]));
  EXPECT_TRUE(std::isnan(split.scales[2]));
}

TEST(SplitX, VnniWritesTheSameBytesAsScalar) {
  if (!cpu_has_avx512_vnni()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  for (const SplitLayout layout : {SplitLayout::kNibblePairs, SplitLayout::kBytes}) {
    for (const int64_t cols : kAwkwardCols) {
      std::vector<float> x = awkward_x(cols, static_cast<uint32_t>(cols) + 1);
      if (cols > 600) x[600] = std::numeric_limits<float>::quiet_NaN();
      SplitBuffers scalar(cols), vnni(cols);
      split_x(layout, x.data(), cols, scalar.parts.data(), scalar.scales.data(),
              scalar.corrections.data());
      avx512::split_x_vnni(layout, x.data(), cols, vnni.parts.data(), vnni.scales.data(),
                           vnni.corrections.data());
      const auto groups = static_cast<size_t>(scalar.groups);
      EXPECT_EQ(0, std::memcmp(scalar.parts.data(), vnni.parts.data(), groups * kSplitGroupBytes))
          << "cols " << cols;
      EXPECT_EQ(0, std::memcmp(scalar.corrections.data(), vnni.corrections.data(),
                               groups * kSplitLanes * sizeof(int32_t)))
          << "cols " << cols;
      for (size_t g = 0; g < groups; ++g) {
        if (std::isnan(scalar.scales[g])) {
          EXPECT_TRUE(std::isnan(vnni.scales[g])) << "cols " << cols << " group " << g;
        } else {
          EXPECT_EQ(scalar.scales[g], vnni.scales[g]) << "cols " << cols << " group " << g;
        }
      }
    }
  }
}

// The VNNI kernel for `format` on x already split.
void run_vnni(const WeightMatrix& w, const SplitX& x, float* y) {
  if (w.format == WeightFormat::kQ4G128) {
    avx512::gemv_q4_g128_vnni(w.storage.data(), w.group_scales(), w.cols, x, y, 0, w.rows);
  } else {
    avx512::gemv_q8_row_vnni(w.i8(), w.row_scales(), w.cols, x, y, 0, w.rows);
  }
}

void run_twin(const WeightMatrix& w, const SplitX& x, float* y) {
  if (w.format == WeightFormat::kQ4G128) {
    gemv_q4_g128_split_scalar(w.storage.data(), w.group_scales(), w.cols, x, y, 0, w.rows);
  } else {
    gemv_q8_row_split_scalar(w.i8(), w.row_scales(), w.cols, x, y, 0, w.rows);
  }
}

TEST(GemvVnni, MatchesScalarTwinOnAwkwardShapes) {
  if (!cpu_has_avx512_vnni()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  for (const WeightFormat format : kSplitFormats) {
    for (const int64_t cols : kAwkwardCols) {
      for (const int64_t rows : {1, 3, 17, 64}) {
        const WeightMatrix w =
            random_matrix(format, rows, cols, static_cast<uint32_t>(rows * 100 + cols));
        const std::vector<float> x = awkward_x(cols, 11);
        SplitBuffers split(cols);
        split_x(layout_of(format), x.data(), cols, split.parts.data(), split.scales.data(),
                split.corrections.data());
        std::vector<float> fast(static_cast<size_t>(rows), -1.0f), twin(fast.size());
        run_vnni(w, split.view(), fast.data());
        run_twin(w, split.view(), twin.data());
        // Both sum the same exact group integers in fp32, in different
        // orders: the bound scales with Σ|w·x|, not with the result.
        for (int64_t r = 0; r < rows; ++r) {
          ASSERT_NEAR(fast[static_cast<size_t>(r)], twin[static_cast<size_t>(r)],
                      1e-6 * magnitude(w, r, x) + 1e-30)
              << weight_format_name(format) << " rows " << rows << " cols " << cols << " row " << r;
        }
      }
    }
  }
}

// Through matmul (which picks the VNNI kernels where the CPU has them),
// against the fp32 reference: the difference is bounded by x's rounding,
// Σ |w_c|·s/2, plus fp32 summation.
TEST(GemvInt, DecodeMatchesReferenceWithinTheRoundingOfX) {
  for (const WeightFormat format : kSplitFormats) {
    for (const int64_t cols : kAwkwardCols) {
      for (const int64_t rows : {1, 3, 17, 64}) {
        const WeightMatrix w =
            random_matrix(format, rows, cols, static_cast<uint32_t>(rows * 7 + cols));
        const std::vector<float> x = random_vector(static_cast<size_t>(cols), 5);
        std::vector<float> fast(static_cast<size_t>(rows)), slow(fast.size());
        matmul(w, x.data(), 1, fast.data());
        matmul_reference(w, x.data(), 1, slow.data());
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = 0; r < rows; ++r) {
          w.row_to_f32(r, row.data());
          double bound = 0.0;
          for (int64_t c = 0; c < cols; ++c) {
            float max_abs = 0.0f;
            const int64_t g = c / kSplitGroup;
            for (int64_t k = g * kSplitGroup; k < std::min(cols, (g + 1) * kSplitGroup); ++k)
              max_abs = std::max(max_abs, std::fabs(x[static_cast<size_t>(k)]));
            bound += std::fabs(row[static_cast<size_t>(c)]) * 0.5 * max_abs / 32512.0;
          }
          ASSERT_NEAR(fast[static_cast<size_t>(r)], slow[static_cast<size_t>(r)],
                      bound + 1e-6 * magnitude(w, r, x) + 1e-7)
              << weight_format_name(format) << " rows " << rows << " cols " << cols << " row " << r;
        }
      }
    }
  }
}

// x whose groups hold integers with largest |x| = 32512: s = 1, q = x, and
// the VNNI kernels are exact up to fp32 summation.
TEST(GemvVnni, ExactWhenXIsOnTheGrid) {
  if (!cpu_has_avx512_vnni()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  const int64_t rows = 9, cols = 320;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> value(-32512, 32512);
  std::vector<float> x(static_cast<size_t>(cols));
  for (float& v : x) v = static_cast<float>(value(rng));
  for (int64_t g = 0; g * kSplitGroup < cols; ++g) x[static_cast<size_t>(g * kSplitGroup)] = 32512;
  for (const WeightFormat format : kSplitFormats) {
    const WeightMatrix w = random_matrix(format, rows, cols, 77);
    std::vector<float> fast(static_cast<size_t>(rows));
    matmul(w, x.data(), 1, fast.data());
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      w.row_to_f32(r, row.data());
      double exact = 0.0;
      for (int64_t c = 0; c < cols; ++c)
        exact += static_cast<double>(row[static_cast<size_t>(c)]) * x[static_cast<size_t>(c)];
      EXPECT_NEAR(fast[static_cast<size_t>(r)], exact, 1e-6 * magnitude(w, r, x))
          << weight_format_name(format) << " row " << r;
    }
  }
}

TEST(GemvInt, NanInXGivesNanAndZeroXGivesZero) {
  for (const WeightFormat format : kSplitFormats) {
    const int64_t rows = 5, cols = 300;
    const WeightMatrix w = random_matrix(format, rows, cols, 8);
    std::vector<float> x(static_cast<size_t>(cols), 0.0f), y(static_cast<size_t>(rows), -1.0f);
    matmul(w, x.data(), 1, y.data());
    for (const float v : y) EXPECT_EQ(v, 0.0f) << weight_format_name(format);
    x[200] = std::numeric_limits<float>::quiet_NaN();
    matmul(w, x.data(), 1, y.data());
    for (const float v : y) EXPECT_TRUE(std::isnan(v)) << weight_format_name(format);
  }
}

// The fp32-widening kernels serve AVX-512 CPUs without VNNI; matmul does not
// pick them here, so they are called directly.
TEST(GemvAvx512, WideningKernelsMatchReference) {
  if (!cpu_has_avx512()) GTEST_SKIP() << "this CPU has no AVX-512";
  for (const WeightFormat format : kSplitFormats) {
    const GemvLayout layout =
        format == WeightFormat::kQ4G128 ? GemvLayout::kQ4Group : GemvLayout::kPlain;
    for (const int64_t cols : kAwkwardCols) {
      for (const int64_t rows : {1, 3, 17, 64}) {
        const WeightMatrix w =
            random_matrix(format, rows, cols, static_cast<uint32_t>(rows * 3 + cols));
        const std::vector<float> x = random_vector(static_cast<size_t>(cols), 9);
        AlignedBuffer<float> prepared(static_cast<size_t>(gemv_prepared_size(layout, cols)));
        gemv_prepare_x(layout, x.data(), cols, prepared.data());
        std::vector<float> fast(static_cast<size_t>(rows)), slow(fast.size());
        if (format == WeightFormat::kQ4G128) {
          avx512::gemv_q4_g128(w.storage.data(), w.group_scales(), cols, prepared.data(),
                               fast.data(), 0, rows);
        } else {
          avx512::gemv_q8_row(w.i8(), w.row_scales(), cols, prepared.data(), fast.data(), 0, rows);
        }
        matmul_reference(w, x.data(), 1, slow.data());
        for (int64_t r = 0; r < rows; ++r) {
          ASSERT_NEAR(fast[static_cast<size_t>(r)], slow[static_cast<size_t>(r)],
                      1e-6 * magnitude(w, r, x) + 1e-7)
              << weight_format_name(format) << " rows " << rows << " cols " << cols << " row " << r;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tc::kernels
