// The x layouts of the decode kernels (see gemv.h); plain C++, shared by
// every instruction set.
#include "kernels/cpu/gemv.h"

#include <algorithm>

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

}  // namespace tc::kernels
