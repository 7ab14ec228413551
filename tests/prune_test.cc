// Magnitude pruning zeroes exactly the smallest weights.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "quant/prune.h"

namespace tc::quant {
namespace {

weights::WeightMatrix random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(rows * cols));
  for (float& v : values) v = normal(rng);
  return weights::make_f32_matrix(rows, cols, values.data());
}

TEST(Prune, ZeroesExactlyTheSmallestMagnitudes) {
  for (const double sparsity : {0.0, 0.1, 0.5, 0.7}) {
    weights::WeightMatrix m = random_matrix(17, 129, 3);
    const weights::WeightMatrix original = random_matrix(17, 129, 3);
    const PruneStats stats = prune_by_magnitude(m, sparsity);
    const auto expected = static_cast<int64_t>(std::floor(sparsity * 17 * 129));
    EXPECT_EQ(stats.zeroed, expected);
    EXPECT_EQ(stats.zeros, expected);
    EXPECT_NEAR(stats.sparsity(), sparsity, 1.0 / (17 * 129));
    // Every kept weight is at least as large as every pruned one, and unchanged.
    float largest_pruned = 0.0f, smallest_kept = INFINITY;
    for (int64_t i = 0; i < 17 * 129; ++i) {
      const float before = original.f32()[i], after = m.f32()[i];
      if (after == 0.0f) {
        largest_pruned = std::max(largest_pruned, std::fabs(before));
      } else {
        EXPECT_EQ(after, before);
        smallest_kept = std::min(smallest_kept, std::fabs(before));
      }
    }
    EXPECT_LE(largest_pruned, smallest_kept) << sparsity;
  }
}

TEST(Prune, TiesAtTheThresholdStopAtTheTarget) {
  std::vector<float> values(10, 0.5f);
  values[0] = 2.0f;
  weights::WeightMatrix m = weights::make_f32_matrix(2, 5, values.data());
  EXPECT_EQ(prune_by_magnitude(m, 0.3).zeroed, 3);
  EXPECT_EQ(m.f32()[0], 2.0f);
  EXPECT_EQ(m.f32()[1], 0.0f);
  EXPECT_EQ(m.f32()[4], 0.5f);
}

TEST(Prune, RefusesBadInput) {
  weights::WeightMatrix m = random_matrix(2, 2, 1);
  EXPECT_THROW(prune_by_magnitude(m, 1.0), Error);
  EXPECT_THROW(prune_by_magnitude(m, -0.1), Error);
  m.format = weights::WeightFormat::kBF16;
  EXPECT_THROW(prune_by_magnitude(m, 0.5), Error);
}

}  // namespace
}  // namespace tc::quant
