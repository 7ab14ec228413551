#include "model/rope.h"

#include <cmath>

namespace tc::model {

void make_rope_angles(const int64_t* positions, int64_t n, int64_t head_dim, double theta,
                      RopeAngles& angles) {
  const int64_t half = head_dim / 2;
  angles.cos.resize(static_cast<size_t>(n * half));
  angles.sin.resize(static_cast<size_t>(n * half));
  std::vector<double> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    inv_freq[i] = 1.0 / std::pow(theta, double(2 * i) / double(head_dim));
  }
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const double angle = double(positions[t]) * inv_freq[i];
      angles.cos[t * half + i] = static_cast<float>(std::cos(angle));
      angles.sin[t * half + i] = static_cast<float>(std::sin(angle));
    }
  }
}

}  // namespace tc::model
