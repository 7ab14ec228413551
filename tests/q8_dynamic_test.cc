// W8A8 (q8_row_dynamic): activation quantization, every SIMD kernel against
// the scalar integer reference (bit-exact), and the float reference within
// the error the two quantization steps allow.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_quant.h"
#include "kernels/cpu/q8_dynamic.h"
#include "random_data.h"

namespace tc::kernels {
namespace {

using test_data::random_vector;

// Per-row absmax/127 symmetric rounding into kQ8RowDynamic (a local twin of
// the int8 row quantizer, so this test does not depend on it).
WeightMatrix quantize_rows(const std::vector<float>& values, int64_t rows, int64_t cols) {
  WeightMatrix m;
  m.format = WeightFormat::kQ8RowDynamic;
  m.rows = rows;
  m.cols = cols;
  m.storage.resize(static_cast<size_t>(rows * cols));
  m.scales.resize(static_cast<size_t>(rows) * sizeof(float));
  auto* q = reinterpret_cast<int8_t*>(m.storage.data());
  auto* scales = reinterpret_cast<float*>(m.scales.data());
  for (int64_t r = 0; r < rows; ++r) {
    float max_abs = 0.0f;
    for (int64_t c = 0; c < cols; ++c)
      max_abs = std::fmax(max_abs, std::fabs(values[r * cols + c]));
    const float scale = max_abs / 127.0f;
    scales[r] = scale;
    for (int64_t c = 0; c < cols; ++c) {
      const float v = scale == 0.0f ? 0.0f : std::nearbyint(values[r * cols + c] / scale);
      q[r * cols + c] = static_cast<int8_t>(std::fmin(127.0f, std::fmax(-127.0f, v)));
    }
  }
  return m;
}

std::vector<Q8DynamicKernel> supported_kernels() {
  std::vector<Q8DynamicKernel> out;
  for (const auto k :
       {Q8DynamicKernel::kScalar, Q8DynamicKernel::kAvx2, Q8DynamicKernel::kAvx512Vnni}) {
    if (q8_dynamic_kernel_supported(k)) out.push_back(k);
  }
  return out;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

TEST(Q8DynamicQuantize, ScaleIsAbsMaxOver127AndValuesStayInRange) {
  const int64_t n = 4, cols = 301;
  std::vector<float> x = random_vector(static_cast<size_t>(n * cols), 11);
  x[cols + 17] = -80.0f;  // one outlier in token 1
  std::vector<int8_t> q(x.size());
  std::vector<float> scales(n);
  quantize_activations_q8(x.data(), n, cols, q.data(), scales.data());
  for (int64_t t = 0; t < n; ++t) {
    float max_abs = 0.0f;
    for (int64_t c = 0; c < cols; ++c) max_abs = std::fmax(max_abs, std::fabs(x[t * cols + c]));
    ASSERT_EQ(scales[t], max_abs / 127.0f) << "token " << t;
    bool reaches_127 = false;
    for (int64_t c = 0; c < cols; ++c) {
      const int v = q[t * cols + c];
      ASSERT_GE(v, -127);
      ASSERT_LE(v, 127);
      reaches_127 = reaches_127 || std::abs(v) == 127;
      // Round to nearest: within half a step (plus float rounding of x / sx).
      ASSERT_LE(std::fabs(float(v) * scales[t] - x[t * cols + c]), scales[t] * 0.5001f)
          << "token " << t << " col " << c;
    }
    EXPECT_TRUE(reaches_127) << "the largest |x| of token " << t << " maps to ±127";
  }
  EXPECT_EQ(q[cols + 17], -127);
}

TEST(Q8DynamicQuantize, ZeroTokenGetsZeroScaleAndZeros) {
  const int64_t n = 3, cols = 40;
  std::vector<float> x = random_vector(static_cast<size_t>(n * cols), 5);
  std::fill(x.begin() + cols, x.begin() + 2 * cols, 0.0f);
  std::vector<int8_t> q(x.size(), 99);
  std::vector<float> scales(n, -1.0f);
  quantize_activations_q8(x.data(), n, cols, q.data(), scales.data());
  EXPECT_EQ(scales[1], 0.0f);
  for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(q[cols + c], 0);
  EXPECT_GT(scales[0], 0.0f);
  EXPECT_GT(scales[2], 0.0f);

  // Through the matmul the zero token gives exact zeros, the others do not.
  const int64_t rows = 9;
  const WeightMatrix w = quantize_rows(random_vector(size_t(rows * cols), 6, 0.1f), rows, cols);
  for (const auto kernel : supported_kernels()) {
    std::vector<float> y(size_t(n * rows), -1.0f);
    matmul_q8_dynamic_with(kernel, w, x.data(), n, y.data());
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_EQ(y[rows + r], 0.0f) << q8_dynamic_kernel_name(kernel);
      EXPECT_NE(y[r], 0.0f) << q8_dynamic_kernel_name(kernel);
    }
  }
}

TEST(Q8DynamicQuantize, RoundsHalfToEven) {
  // max |x| = 127 makes the scale exactly 1, so x / sx = x and the ties are exact.
  const std::vector<float> x = {127.0f, 0.5f, 1.5f,   2.5f,    -0.5f, -1.5f,
                                -2.5f,  3.5f, 126.5f, -126.5f, 0.49f, -3.5f};
  const std::vector<int> expected = {127, 0, 2, 2, 0, -2, -2, 4, 126, -126, 0, -4};
  std::vector<int8_t> q(x.size());
  float scale = 0.0f;
  quantize_activations_q8(x.data(), 1, int64_t(x.size()), q.data(), &scale);
  ASSERT_EQ(scale, 1.0f);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(q[i], expected[i]) << "x = " << x[i];

  // The SIMD quantizer rounds the same way (checked through a one-row,
  // one-hot weight: y = q[c] · 1 · 1).
  for (size_t c = 0; c < x.size(); ++c) {
    WeightMatrix w = quantize_rows(std::vector<float>(x.size(), 0.0f), 1, int64_t(x.size()));
    reinterpret_cast<int8_t*>(w.storage.data())[c] = 1;
    reinterpret_cast<float*>(w.scales.data())[0] = 1.0f;
    for (const auto kernel : supported_kernels()) {
      float y = 0.0f;
      matmul_q8_dynamic_with(kernel, w, x.data(), 1, &y);
      EXPECT_EQ(y, float(expected[c])) << q8_dynamic_kernel_name(kernel) << " x = " << x[c];
    }
  }
}

// Every kernel the CPU has gives bit-identical outputs to the scalar integer
// reference: the int32 sums are exact and the rescaling is the same two fp32
// multiplications in the same order.
TEST(Q8DynamicMatmul, SimdMatchesScalarReferenceExactly) {
  const auto kernels = supported_kernels();
  ASSERT_FALSE(kernels.empty());
  for (const int64_t cols : {1, 7, 31, 32, 33, 127, 129, 320, 896}) {
    for (const int64_t rows : {1, 3, 17, 64}) {
      for (const int64_t n : {1, 2, 5, 17}) {
        const auto seed = static_cast<uint32_t>(cols * 1000 + rows * 10 + n);
        const WeightMatrix w =
            quantize_rows(random_vector(size_t(rows * cols), seed, 0.1f), rows, cols);
        std::vector<float> x = random_vector(static_cast<size_t>(n * cols), seed + 1);
        x[0] *= 20.0f;  // an outlier in token 0
        std::vector<float> expected(static_cast<size_t>(n * rows));
        matmul_q8_dynamic_scalar(w, x.data(), n, expected.data());
        for (const auto kernel : kernels) {
          std::vector<float> got(expected.size(), NAN);
          matmul_q8_dynamic_with(kernel, w, x.data(), n, got.data());
          for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_TRUE(same_bits(got[i], expected[i]))
                << q8_dynamic_kernel_name(kernel) << " rows " << rows << " cols " << cols << " n "
                << n << " index " << i << ": " << got[i] << " vs " << expected[i];
          }
        }
        // The public entry points dispatch to the same kernels.
        std::vector<float> via_matmul(expected.size());
        matmul(w, x.data(), n, via_matmul.data());
        for (size_t i = 0; i < expected.size(); ++i)
          ASSERT_TRUE(same_bits(via_matmul[i], expected[i]));
      }
    }
  }
}

// The largest magnitudes the sign trick must handle: |w| up to 128 (a stored
// -128 is legal int8) against |qx| = 127, every pair the same sign, so the
// 16-bit pair sums of vpmaddubsw reach 2·128·127 = 32512 without saturating.
TEST(Q8DynamicMatmul, ExtremeValuesDoNotSaturate) {
  const int64_t rows = 6, cols = 333, n = 3;
  WeightMatrix w = quantize_rows(std::vector<float>(size_t(rows * cols), 1.0f), rows, cols);
  auto* q = reinterpret_cast<int8_t*>(w.storage.data());
  std::mt19937 rng(3);
  for (int64_t i = 0; i < rows * cols; ++i) q[i] = static_cast<int8_t>(int(rng() % 256) - 128);
  for (int64_t c = 0; c < cols; ++c) q[c] = -128;  // row 0: all -128
  for (int64_t c = 0; c < cols; ++c) q[cols + c] = 127;
  std::vector<float> x(size_t(n * cols));
  for (int64_t c = 0; c < cols; ++c) {
    x[c] = -1.0f;                               // token 0: qx = -127 everywhere
    x[cols + c] = (c % 2 == 0) ? 1.0f : -1.0f;  // token 1: alternating ±127
    x[2 * cols + c] = 1.0f;
  }
  std::vector<float> expected(size_t(n * rows));
  matmul_q8_dynamic_scalar(w, x.data(), n, expected.data());
  // Row 0 · token 0 = cols · 128 · 127, times sw (1/127) and sx (1/127).
  EXPECT_FLOAT_EQ(expected[0], float(cols) * 128.0f * 127.0f * (1.0f / 127.0f) * (1.0f / 127.0f));
  for (const auto kernel : supported_kernels()) {
    std::vector<float> got(expected.size());
    matmul_q8_dynamic_with(kernel, w, x.data(), n, got.data());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(same_bits(got[i], expected[i])) << q8_dynamic_kernel_name(kernel) << " " << i;
    }
    // Each token alone: one token takes the kernels' decode path.
    for (int64_t t = 0; t < n; ++t) {
      std::vector<float> one(static_cast<size_t>(rows));
      matmul_q8_dynamic_with(kernel, w, x.data() + t * cols, 1, one.data());
      for (int64_t r = 0; r < rows; ++r) {
        ASSERT_TRUE(same_bits(one[r], expected[t * rows + r]))
            << q8_dynamic_kernel_name(kernel) << " token " << t << " row " << r;
      }
    }
  }
}

// Against fp32 math on the original weights. For one product, with
// w = sw·qw + ew (|ew| <= sw/2) and x = sx·qx + ex (|ex| <= sx/2):
//   w·x − (sw·qw)(sx·qx) = w·ex + ew·(sx·qx),   |sx·qx| <= |x| + sx/2,
// so |error| <= |w|·sx/2 + |x|·sw/2 + sw·sx/4, summed over the row. The test
// allows 1% more plus fp32 rounding (the int32 sum is exact; the conversion,
// the two rescaling products and the reference's own rounding are a few ulp
// of Σ|w·x|). Against the dequantized weights (matmul_reference on the
// kQ8RowDynamic matrix) only the activation step remains: Σ |sw·qw|·sx/2.
TEST(Q8DynamicMatmul, WithinQuantizationBoundOfFloatReference) {
  for (const int64_t cols : {1, 7, 33, 129, 320, 896}) {
    for (const int64_t rows : {3, 17, 64}) {
      for (const int64_t n : {1, 5, 17}) {
        const auto seed = static_cast<uint32_t>(cols * 7 + rows * 3 + n);
        const std::vector<float> wf = random_vector(size_t(rows * cols), seed, 0.1f);
        std::vector<float> x = random_vector(size_t(n * cols), seed + 9);
        x[size_t((n - 1) * cols)] = 30.0f;  // an outlier in the last token
        const WeightMatrix wq = quantize_rows(wf, rows, cols);
        const WeightMatrix w32 = weights::make_f32_matrix(rows, cols, wf.data());
        std::vector<float> got(size_t(n * rows)), exact(got.size()), dequantized(got.size());
        matmul_q8_dynamic(wq, x.data(), n, got.data());
        matmul_reference(w32, x.data(), n, exact.data());
        matmul_reference(wq, x.data(), n, dequantized.data());
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = 0; r < rows; ++r) {
          const float sw = wq.row_scales()[r];
          wq.row_to_f32(r, row.data());
          for (int64_t t = 0; t < n; ++t) {
            float max_abs = 0.0f;
            for (int64_t c = 0; c < cols; ++c)
              max_abs = std::fmax(max_abs, std::fabs(x[t * cols + c]));
            const double sx = max_abs / 127.0f;
            double bound = 0.0, act_bound = 0.0, magnitude = 0.0;
            for (int64_t c = 0; c < cols; ++c) {
              const double aw = std::fabs(wf[r * cols + c]), ax = std::fabs(x[t * cols + c]);
              bound += aw * sx / 2 + ax * sw / 2 + sw * sx / 4;
              act_bound += std::fabs(row[c]) * sx / 2;
              magnitude += aw * ax;
            }
            const double slack = 1e-5 * magnitude + 1e-6;
            const size_t i = size_t(t * rows + r);
            ASSERT_LE(std::fabs(double(got[i]) - exact[i]), 1.01 * bound + slack)
                << "rows " << rows << " cols " << cols << " n " << n << " r " << r << " t " << t;
            ASSERT_LE(std::fabs(double(got[i]) - dequantized[i]), 1.01 * act_bound + slack)
                << "rows " << rows << " cols " << cols << " n " << n << " r " << r << " t " << t;
          }
        }
      }
    }
  }
}

TEST(Q8DynamicMatmul, RejectsOtherFormatsAndBadSizes) {
  const std::vector<float> values(12, 1.0f);
  const WeightMatrix f32 = weights::make_f32_matrix(3, 4, values.data());
  std::vector<float> y(3);
  EXPECT_THROW(matmul_q8_dynamic(f32, values.data(), 1, y.data()), Error);
  WeightMatrix q = quantize_rows(values, 3, 4);
  q.scales.resize(2 * sizeof(float));
  EXPECT_THROW(matmul_q8_dynamic(q, values.data(), 1, y.data()), Error);
}

}  // namespace
}  // namespace tc::kernels
