// A rate measured in parts, each part against the limit measured just before
// and just after it.
//
// On a shared machine the memory bandwidth can change by half within seconds
// (a neighbour starts or stops streaming). A decode whose speed is divided by
// a bandwidth measured seconds away can then read as 60% or 110% of the
// limit for the same code. `tinycompress bench` therefore also measures the
// bandwidth between parts of the decode and divides each part's rate by the
// probes around it; the median over the parts is robust to one change of
// phase, and a part that straddles a change is compared with the higher of
// its two probes, so the fraction is never inflated by the slower one.
#pragma once

#include <span>
#include <vector>

namespace tc::profile {

struct PairedFractions {
  // parts[i] / max(limits[i], limits[i + 1]), one per part.
  std::vector<double> fractions;
  double median = 0;
  double lowest = 0;
  double highest = 0;
};

// part_rates: one rate per part (at least one); limits: one more than the
// parts, limits[i] measured just before part i and limits[i + 1] just after
// it. Every rate and limit must be finite and positive; anything else fails
// with a message that names the value.
PairedFractions paired_fractions(std::span<const double> part_rates,
                                 std::span<const double> limits);

}  // namespace tc::profile
