#include "profile/paired_fraction.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "profile/machine_limits.h"

namespace tc::profile {

PairedFractions paired_fractions(std::span<const double> part_rates,
                                 std::span<const double> limits) {
  if (part_rates.empty()) fail("paired fractions: no parts");
  if (limits.size() != part_rates.size() + 1) {
    fail("paired fractions: {} parts need {} limits around them, got {}", part_rates.size(),
         part_rates.size() + 1, limits.size());
  }
  const auto check = [](const char* what, size_t index, double value) {
    if (!std::isfinite(value) || value <= 0) {
      fail("paired fractions: {} {} is {}, not a positive rate", what, index, value);
    }
  };
  for (size_t i = 0; i < part_rates.size(); ++i) check("part", i, part_rates[i]);
  for (size_t i = 0; i < limits.size(); ++i) check("limit", i, limits[i]);

  PairedFractions result;
  for (size_t i = 0; i < part_rates.size(); ++i) {
    result.fractions.push_back(part_rates[i] / std::max(limits[i], limits[i + 1]));
  }
  const RateSamples summary = summarize_rates(result.fractions);
  result.median = summary.median;
  result.highest = summary.best;
  result.lowest = *std::min_element(result.fractions.begin(), result.fractions.end());
  return result;
}

}  // namespace tc::profile
