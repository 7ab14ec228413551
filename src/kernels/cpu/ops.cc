#include "kernels/cpu/ops.h"

#include <cmath>
#include <vector>

namespace tc::kernels {

void rms_norm(const float* x, const float* weight, int64_t n, int64_t d, double eps, float* out) {
  for (int64_t t = 0; t < n; ++t) {
    const float* row = x + t * d;
    float* dst = out + t * d;
    // Sum of squares in double: the norm is a reduction over the whole width.
    double sum_squares = 0.0;
    for (int64_t i = 0; i < d; ++i) sum_squares += double(row[i]) * double(row[i]);
    const float inv_rms = static_cast<float>(1.0 / std::sqrt(sum_squares / double(d) + eps));
    for (int64_t i = 0; i < d; ++i) dst[i] = weight[i] * (row[i] * inv_rms);
  }
}

void rope_rotate_half(float* x, int64_t n, int64_t heads, int64_t head_dim,
                      const int64_t* positions, double theta) {
  const int64_t half = head_dim / 2;
  std::vector<float> cos_table(static_cast<size_t>(half)), sin_table(static_cast<size_t>(half));
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const double inv_freq = 1.0 / std::pow(theta, double(2 * i) / double(head_dim));
      const double angle = double(positions[t]) * inv_freq;
      cos_table[i] = static_cast<float>(std::cos(angle));
      sin_table[i] = static_cast<float>(std::sin(angle));
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos_table[i] - b * sin_table[i];
        v[i + half] = b * cos_table[i] + a * sin_table[i];
      }
    }
  }
}

void silu_mul(float* gate, const float* up, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add_inplace(float* x, const float* y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) x[i] += y[i];
}

void add_bias(float* x, const float* bias, int64_t n, int64_t d) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < d; ++i) x[t * d + i] += bias[i];
  }
}

}  // namespace tc::kernels
