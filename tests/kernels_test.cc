// Fast kernels against their scalar/reference twins on awkward shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/dtype.h"
#include "dense_matrix.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops.h"
#include "random_data.h"
#include "weights/weight_matrix.h"

namespace tc::kernels {
namespace {

using test_data::random_vector;

WeightMatrix make_matrix(WeightFormat format, int64_t rows, int64_t cols, uint32_t seed) {
  const std::vector<float> values = random_vector(static_cast<size_t>(rows * cols), seed, 0.1f);
  return test_data::dense_matrix(format, rows, cols, values.data());
}

TEST(Matmul, MatchesReferenceOnAwkwardShapes) {
  for (const auto format : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kF16}) {
    for (const int64_t cols : {1, 7, 8, 31, 33, 127, 129, 320, 1000}) {
      for (const int64_t rows : {1, 3, 17, 64}) {
        for (const int64_t n : {1, 5, 13, 40}) {
          const WeightMatrix w =
              make_matrix(format, rows, cols, static_cast<uint32_t>(cols * rows));
          const std::vector<float> x = random_vector(static_cast<size_t>(n * cols), 7);
          std::vector<float> fast(static_cast<size_t>(n * rows)), slow(fast.size());
          matmul(w, x.data(), n, fast.data());
          matmul_reference(w, x.data(), n, slow.data());
          for (size_t i = 0; i < fast.size(); ++i) {
            ASSERT_NEAR(fast[i], slow[i], 1e-5 * std::sqrt(double(cols)) + 1e-6)
                << weight_format_name(format) << " rows " << rows << " cols " << cols << " n " << n
                << " index " << i;
          }
        }
      }
    }
  }
}

TEST(Dot, VectorAndScalarKernelsAgree) {
  const DotKernels& fast = dot_kernels();
  const DotKernels& scalar = scalar_dot_kernels();
  for (const int64_t n : {0, 1, 15, 33, 128, 1000}) {
    const std::vector<float> w = random_vector(static_cast<size_t>(n), 1);
    const std::vector<float> x = random_vector(static_cast<size_t>(n), 2);
    std::vector<uint16_t> bf16(w.size()), f16(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      bf16[i] = f32_to_bf16(w[i]);
      f16[i] = f32_to_f16(w[i]);
    }
    const double tolerance = 1e-5 * (1.0 + std::sqrt(double(n)));
    EXPECT_NEAR(fast.f32(w.data(), x.data(), n), scalar.f32(w.data(), x.data(), n), tolerance);
    EXPECT_NEAR(fast.bf16(bf16.data(), x.data(), n), scalar.bf16(bf16.data(), x.data(), n),
                tolerance);
    EXPECT_NEAR(fast.f16(f16.data(), x.data(), n), scalar.f16(f16.data(), x.data(), n), tolerance);
  }
}

// The int8 and int4 dot products (the kernels of CPUs without AVX-512)
// against the dequantized row, on lengths that leave every tail and a short
// last int4 group.
TEST(Dot, QuantizedKernelsMatchTheDequantizedRow) {
  for (const DotKernels* kernels : {&dot_kernels(), &scalar_dot_kernels()}) {
    for (const int64_t cols : {1, 7, 16, 33, 127, 129, 320, 1000}) {
      const std::vector<float> values = random_vector(static_cast<size_t>(2 * cols), 3);
      const WeightMatrix dense = weights::make_f32_matrix(2, cols, values.data());
      const std::vector<float> x = random_vector(static_cast<size_t>(cols), 4);
      const WeightMatrix q8 = weights::convert_weights(dense, weights::WeightFormat::kQ8Row);
      const WeightMatrix q4 = weights::convert_weights(dense, weights::WeightFormat::kQ4G128);
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = 0; r < 2; ++r) {
        double expected8 = 0.0, expected4 = 0.0;
        q8.row_to_f32(r, row.data());
        for (int64_t c = 0; c < cols; ++c) expected8 += double(row[c]) * double(x[c]);
        q4.row_to_f32(r, row.data());
        for (int64_t c = 0; c < cols; ++c) expected4 += double(row[c]) * double(x[c]);
        const double tolerance = 2e-6 * std::sqrt(double(cols)) + 1e-6;
        const float got8 = q8.row_scales()[r] * kernels->q8(q8.i8() + r * cols, x.data(), cols);
        const float got4 = kernels->q4(q4.storage.data() + r * q4.row_bytes(),
                                       q4.group_scales() + r * q4.scales_per_row(), x.data(), cols);
        EXPECT_NEAR(got8, expected8, tolerance * (1.0 + std::fabs(expected8)))
            << kernels->isa << " cols " << cols;
        EXPECT_NEAR(got4, expected4, tolerance * (1.0 + std::fabs(expected4)))
            << kernels->isa << " cols " << cols;
      }
    }
  }
}

// Naive attention written from the definition, in double.
std::vector<float> attention_reference(const std::vector<float>& q, const std::vector<float>& k,
                                       const std::vector<float>& v, int64_t n, int64_t start,
                                       const AttentionShape& s) {
  std::vector<float> out(static_cast<size_t>(n * s.heads * s.head_dim));
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t g = h / (s.heads / s.kv_heads);
      std::vector<double> w(static_cast<size_t>(start + t + 1));
      double max = -1e300, sum = 0.0;
      for (int64_t j = 0; j <= start + t; ++j) {
        double dot = 0.0;
        for (int64_t d = 0; d < s.head_dim; ++d) {
          dot += double(q[(t * s.heads + h) * s.head_dim + d]) *
                 double(k[(j * s.kv_heads + g) * s.head_dim + d]);
        }
        w[j] = dot / std::sqrt(double(s.head_dim));
        max = std::max(max, w[j]);
      }
      for (double& x : w) sum += (x = std::exp(x - max));
      for (int64_t d = 0; d < s.head_dim; ++d) {
        double acc = 0.0;
        for (int64_t j = 0; j <= start + t; ++j) {
          acc += w[j] / sum * double(v[(j * s.kv_heads + g) * s.head_dim + d]);
        }
        out[(t * s.heads + h) * s.head_dim + d] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

TEST(Attention, CausalGqaMatchesReference) {
  const AttentionShape shape{6, 2, 24};
  for (const auto& [n, start] :
       std::vector<std::pair<int64_t, int64_t>>{{1, 0}, {7, 0}, {1, 9}, {5, 3}}) {
    const auto q = random_vector(static_cast<size_t>(n * shape.heads * shape.head_dim), 3);
    const auto k =
        random_vector(static_cast<size_t>((start + n) * shape.kv_heads * shape.head_dim), 4);
    const auto v = random_vector(k.size(), 5);
    std::vector<float> out(q.size());
    attention_causal(q.data(), k.data(), v.data(), n, start, shape, out.data());
    const auto want = attention_reference(q, k, v, n, start, shape);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 1e-5) << i;
  }
}

}  // namespace
}  // namespace tc::kernels

namespace tc::kernels {
namespace {

// The vectorized SiLU·mul (fast exp) against the formula in double, over
// lengths that leave every tail size and values that saturate the exp;
// 65536 + 37 is split across the thread pool (a prefill's gate).
TEST(SiluMul, MatchesFormula) {
  for (const int64_t count : {1, 7, 8, 9, 37, 1000, 65536 + 37}) {
    std::vector<float> gate(static_cast<size_t>(count)), up(gate.size());
    for (int64_t i = 0; i < count; ++i) {
      gate[i] = -110.0f + 220.0f * static_cast<float>(i) / static_cast<float>(count);
      up[i] = 0.5f + 0.01f * static_cast<float>(i % 13);
    }
    std::vector<float> out = gate;
    silu_mul(out.data(), up.data(), count);
    for (int64_t i = 0; i < count; ++i) {
      const double g = gate[i];
      const double expected = g / (1.0 + std::exp(-g)) * up[i];
      ASSERT_NEAR(out[i], expected, 1e-6 * (1.0 + std::fabs(expected))) << "g " << g;
    }
  }
}

}  // namespace
}  // namespace tc::kernels

namespace tc::kernels {
namespace {

// The vectorized RMSNorm against the formula in double on widths that leave
// every tail size.
TEST(RmsNorm, MatchesFormula) {
  for (const int64_t d : {1, 7, 8, 9, 128, 897}) {
    const int64_t n = 3;
    std::vector<float> x(static_cast<size_t>(n * d)), weight(static_cast<size_t>(d));
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f;
    for (size_t i = 0; i < weight.size(); ++i) weight[i] = 0.5f + 0.01f * static_cast<float>(i % 7);
    std::vector<float> out(x.size());
    rms_norm(x.data(), weight.data(), n, d, 1e-6, out.data());
    for (int64_t t = 0; t < n; ++t) {
      double sum = 0.0;
      for (int64_t i = 0; i < d; ++i) sum += double(x[t * d + i]) * double(x[t * d + i]);
      const double inv = 1.0 / std::sqrt(sum / double(d) + 1e-6);
      for (int64_t i = 0; i < d; ++i) {
        const double expected = double(weight[i]) * double(x[t * d + i]) * inv;
        ASSERT_NEAR(out[t * d + i], expected, 1e-6 * (1.0 + std::fabs(expected)))
            << "d " << d << " t " << t << " i " << i;
      }
    }
  }
}

}  // namespace
}  // namespace tc::kernels
