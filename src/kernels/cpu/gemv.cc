// The x layouts of the decode kernels (see gemv.h); plain C++, shared by
// every instruction set.
#include "kernels/cpu/gemv.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/dtype.h"

namespace tc::kernels {

int64_t gemv_prepared_size(GemvLayout layout, int64_t cols) {
  switch (layout) {
    case GemvLayout::kQ4Group:
      return (cols + 127) / 128 * 128;
    case GemvLayout::kPlain:
      break;
  }
  return (cols + 15) / 16 * 16;
}

void gemv_prepare_x(GemvLayout layout, const float* x, int64_t cols, float* prepared) {
  const int64_t size = gemv_prepared_size(layout, cols);
  std::fill(prepared, prepared + size, 0.0f);
  switch (layout) {
    case GemvLayout::kPlain:
      std::copy(x, x + cols, prepared);
      return;
    case GemvLayout::kQ4Group:
      // Group of 128: element 8·i + j at [j·16 + i].
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t group = c / 128 * 128, within = c % 128;
        prepared[group + (within % 8) * 16 + within / 8] = x[c];
      }
      return;
  }
}

namespace {

// |q| stays within this so that hi = (q + 128) >> 8 fits int8.
constexpr int32_t kSplitMax = 127 * 256;

// q of the input at `byte` of a group's halves (the inverse of split_x).
int32_t split_q(const int8_t* group, int64_t byte) { return 256 * group[byte] + group[128 + byte]; }

}  // namespace

void split_x(SplitLayout layout, const float* x, int64_t cols, int8_t* parts, float* scales,
             int32_t* corrections) {
  const int32_t zero = layout == SplitLayout::kNibblePairs ? 8 : 128;
  const int64_t groups = (cols + kSplitGroup - 1) / kSplitGroup;
  for (int64_t g = 0; g < groups; ++g) {
    const float* xg = x + g * kSplitGroup;
    const int64_t count = std::min(kSplitGroup, cols - g * kSplitGroup);
    int8_t* out = parts + g * kSplitGroupBytes;
    int32_t* correction = corrections + g * kSplitLanes;
    std::memset(out, 0, static_cast<size_t>(kSplitGroupBytes));
    std::fill(correction, correction + kSplitLanes, 0);
    float max_abs = 0.0f;
    bool finite = true;
    for (int64_t c = 0; c < count; ++c) {
      finite = finite && std::isfinite(xg[c]);
      max_abs = std::max(max_abs, std::fabs(xg[c]));
    }
    // A NaN or inf makes the whole group's contribution NaN, as in fp32.
    scales[g] =
        finite ? max_abs / static_cast<float>(kSplitMax) : std::numeric_limits<float>::quiet_NaN();
    if (!finite || max_abs == 0.0f) continue;
    // Multiplying by the reciprocal (as the AVX-512 version does) rather than
    // dividing by s moves q by at most one step near a rounding boundary;
    // the clamp keeps |q| <= kSplitMax either way.
    const float inverse = static_cast<float>(kSplitMax) / max_abs;
    for (int64_t c = 0; c < count; ++c) {
      const auto q = static_cast<int32_t>(std::clamp(std::nearbyint(xg[c] * inverse),
                                                     -static_cast<float>(kSplitMax),
                                                     static_cast<float>(kSplitMax)));
      const int32_t hi = (q + 128) >> 8;  // floor division: lo = q - 256·hi in [-128, 127]
      const int64_t byte = layout == SplitLayout::kNibblePairs ? c / 2 + (c % 2) * 64 : c;
      out[byte] = static_cast<int8_t>(hi);
      out[128 + byte] = static_cast<int8_t>(q - 256 * hi);
      correction[byte % 64 / 4] -= zero * q;
    }
  }
}

void gemv_q4_g128_split_scalar(const uint8_t* packed, const uint16_t* scales, int64_t cols,
                               const SplitX& x, float* y, int64_t row_begin, int64_t row_end) {
  const int64_t row_bytes = (cols + 1) / 2;
  const int64_t groups = (cols + kSplitGroup - 1) / kSplitGroup;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = packed + r * row_bytes;
    float sum = 0.0f;
    for (int64_t g = 0; g < groups; ++g) {
      const int8_t* xg = x.parts + g * kSplitGroupBytes;
      int32_t group_sum = 0;
      for (int64_t b = 0; b < 64 && g * 64 + b < row_bytes; ++b) {
        const int32_t even = row[g * 64 + b] & 0x0f, odd = row[g * 64 + b] >> 4;
        group_sum += (even - 8) * split_q(xg, b) + (odd - 8) * split_q(xg, 64 + b);
      }
      sum += f16_to_f32(scales[r * groups + g]) * x.scales[g] * static_cast<float>(group_sum);
    }
    y[r] = sum;
  }
}

void gemv_q8_row_split_scalar(const int8_t* q, const float* scales, int64_t cols, const SplitX& x,
                              float* y, int64_t row_begin, int64_t row_end) {
  const int64_t groups = (cols + kSplitGroup - 1) / kSplitGroup;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int8_t* row = q + r * cols;
    float sum = 0.0f;
    for (int64_t g = 0; g < groups; ++g) {
      const int8_t* xg = x.parts + g * kSplitGroupBytes;
      int32_t group_sum = 0;
      for (int64_t c = 0; c < kSplitGroup && g * kSplitGroup + c < cols; ++c)
        group_sum += row[g * kSplitGroup + c] * split_q(xg, c);
      sum += x.scales[g] * static_cast<float>(group_sum);
    }
    y[r] = scales[r] * sum;
  }
}

}  // namespace tc::kernels
