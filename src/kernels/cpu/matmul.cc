#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_packed.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/matmul_quant.h"
#include "kernels/cpu/row_walk.h"

namespace tc::kernels {

namespace {

// Rows per thread chunk: enough work per chunk that dispatch cost is small.
constexpr size_t kRowGrain = 16;

// Each weight row is read from memory once and dotted with every token, so
// prefill streams the weights once, like decode.
template <typename Dot, typename T>
void matmul_rows(const T* weight, int64_t cols, const float* x, int64_t n, float* y, int64_t rows,
                 Dot dot) {
  ThreadPool::global().parallel_for(
      static_cast<size_t>(rows), kRowGrain, [&](size_t begin, size_t end) {
        for (size_t r = begin; r < end; ++r) {
          const T* row = weight + r * static_cast<size_t>(cols);
          for (int64_t t = 0; t < n; ++t)
            y[t * rows + static_cast<int64_t>(r)] = dot(row, x + t * cols, cols);
        }
      });
}

DenseFormat dense_format(WeightFormat format) {
  switch (format) {
    case WeightFormat::kBF16:
      return DenseFormat::kBF16;
    case WeightFormat::kF16:
      return DenseFormat::kF16;
    default:
      return DenseFormat::kF32;
  }
}

bool is_dense(WeightFormat format) {
  return format == WeightFormat::kF32 || format == WeightFormat::kBF16 ||
         format == WeightFormat::kF16;
}

GemvLayout gemv_layout(WeightFormat format) {
  switch (format) {
    case WeightFormat::kQ4G128:
      return GemvLayout::kQ4Group;
    default:
      return GemvLayout::kPlain;
  }
}

bool has_avx512_gemv(WeightFormat format) { return format != WeightFormat::kQ8RowDynamic; }

// One int4 or int8 token through the VNNI kernels: x quantized and split
// once (on the caller's thread; ~10 ns per group of 128), then the rows,
// walked by the threads (row_walk.h).
void gemv_vnni(const WeightMatrix& weight, const float* x, float* y) {
  const bool int4 = weight.format == WeightFormat::kQ4G128;
  const auto groups = static_cast<size_t>((weight.cols + kSplitGroup - 1) / kSplitGroup);
  thread_local AlignedBuffer<int8_t> parts;
  thread_local AlignedBuffer<float> x_scales;
  thread_local AlignedBuffer<int32_t> corrections;
  if (x_scales.size() < groups) {
    parts.resize(groups * kSplitGroupBytes);
    x_scales.resize(groups);
    corrections.resize(groups * kSplitLanes);
  }
  split_x_vnni(int4 ? SplitLayout::kNibblePairs : SplitLayout::kBytes, x, weight.cols, parts.data(),
               x_scales.data(), corrections.data());
  const SplitX split{parts.data(), x_scales.data(), corrections.data()};
  walk_decode_rows(weight, [&](const RowClaim& c) {
    if (int4) {
      gemv_q4_g128_vnni(weight.storage.data(), weight.group_scales(), weight.cols, split, y,
                        c.begin, c.end, c.next);
    } else {
      gemv_q8_row_vnni(weight.i8(), weight.row_scales(), weight.cols, split, y, c.begin, c.end,
                       c.next);
    }
  });
}

// One token through the AVX-512 decode kernels, the rows walked by the
// threads (row_walk.h).
void gemv_avx512(const WeightMatrix& weight, const float* x, float* y) {
  if ((weight.format == WeightFormat::kQ4G128 || weight.format == WeightFormat::kQ8Row) &&
      cpu_has_avx512_vnni()) {
    return gemv_vnni(weight, x, y);
  }
  const GemvLayout layout = gemv_layout(weight.format);
  const float* xp = x;
  if (layout != GemvLayout::kPlain) {
    thread_local AlignedBuffer<float> prepared;
    const auto size = static_cast<size_t>(gemv_prepared_size(layout, weight.cols));
    if (prepared.size() < size) prepared.resize(size);
    gemv_prepare_x(layout, x, weight.cols, prepared.data());
    xp = prepared.data();
  }
  const int64_t cols = weight.cols;
  walk_decode_rows(weight, [&](const RowClaim& c) {
    switch (weight.format) {
      case WeightFormat::kF32:
        return gemv_f32_avx512(weight.f32(), cols, xp, y, c.begin, c.end, c.next);
      case WeightFormat::kBF16:
        return gemv_bf16_avx512(weight.u16(), cols, xp, y, c.begin, c.end, c.next);
      case WeightFormat::kF16:
        return gemv_f16_avx512(weight.u16(), cols, xp, y, c.begin, c.end, c.next);
      case WeightFormat::kQ8Row:
        return gemv_q8_row_avx512(weight.i8(), weight.row_scales(), cols, xp, y, c.begin, c.end,
                                  c.next);
      case WeightFormat::kQ4G128:
        return gemv_q4_g128_avx512(weight.storage.data(), weight.group_scales(), cols, xp, y,
                                   c.begin, c.end, c.next);
      case WeightFormat::kQ8RowDynamic:
        return;
    }
  });
}

// From this many tokens on, prefill goes through packed panels: packing a
// panel costs about as much as a few tokens' worth of FMAs on it.
constexpr int64_t kPackedMinTokens = 8;

bool has_packed_gemm(WeightFormat format) { return format != WeightFormat::kQ8RowDynamic; }

PackedFormat packed_format(WeightFormat format) {
  switch (format) {
    case WeightFormat::kBF16:
      return PackedFormat::kBF16;
    case WeightFormat::kF16:
      return PackedFormat::kF16;
    case WeightFormat::kQ8Row:
      return PackedFormat::kQ8Row;
    case WeightFormat::kQ4G128:
      return PackedFormat::kQ4G128;
    default:
      return PackedFormat::kF32;
  }
}

// Several tokens through the packed-panel GEMM. Tasks are (panel of 64 rows,
// block of up to 256 tokens) pairs, claimed dynamically, so even a matrix of
// one or two panels keeps every thread busy when there are many tokens.
void gemm_packed(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  const PackedSource source{packed_format(weight.format), weight.storage.data(),
                            weight.scales.data(), weight.rows, weight.cols};
  const int64_t panels = (weight.rows + kPanelRows - 1) / kPanelRows;
  const int64_t blocks = (n + kTokenBlock - 1) / kTokenBlock;
  ThreadPool::global().parallel_for_dynamic(
      static_cast<size_t>(panels * blocks), 1, [&](size_t begin, size_t end) {
        for (size_t task = begin; task < end; ++task) {
          const int64_t panel = static_cast<int64_t>(task) / blocks;
          const int64_t block = static_cast<int64_t>(task) % blocks;
          gemm_packed_avx512(source, x, y, panel * kPanelRows,
                             std::min(weight.rows, (panel + 1) * kPanelRows), block * kTokenBlock,
                             std::min(n, (block + 1) * kTokenBlock));
        }
      });
}

}  // namespace

bool cpu_has_avx512() {
  const CpuFeatures& f = cpu_features();
  return f.avx512f && f.avx512bw && f.avx512vl && f.fma && f.f16c;
}

bool cpu_has_avx512_vnni() { return cpu_has_avx512() && cpu_features().avx512_vnni; }

void matmul(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  if (n == 1 && cpu_has_avx512() && has_avx512_gemv(weight.format)) {
    return gemv_avx512(weight, x, y);
  }
  if (n >= kPackedMinTokens && cpu_has_avx512() && has_packed_gemm(weight.format)) {
    return gemm_packed(weight, x, n, y);
  }
  switch (weight.format) {
    case WeightFormat::kQ8Row:
      return matmul_q8_row(weight, x, n, y);
    case WeightFormat::kQ8RowDynamic:
      return matmul_q8_dynamic(weight, x, n, y);
    case WeightFormat::kQ4G128:
      return matmul_q4_g128(weight, x, n, y);
    default:
      break;
  }
  // Several tokens: the register-tiled GEMM reuses each loaded weight vector
  // for up to four tokens. One token (decode): a dot product per row.
  if (n > 1 && cpu_has_avx512() && is_dense(weight.format)) {
    const DenseFormat format = dense_format(weight.format);
    ThreadPool::global().parallel_for(
        static_cast<size_t>(weight.rows), 48, [&](size_t begin, size_t end) {
          gemm_rows_avx512(format, weight.storage.data(), weight.cols, x, n, y, weight.rows,
                           static_cast<int64_t>(begin), static_cast<int64_t>(end));
        });
    return;
  }
  const DotKernels& dot = dot_kernels();
  switch (weight.format) {
    case WeightFormat::kF32:
      matmul_rows(weight.f32(), weight.cols, x, n, y, weight.rows, dot.f32);
      return;
    case WeightFormat::kBF16:
      matmul_rows(weight.u16(), weight.cols, x, n, y, weight.rows, dot.bf16);
      return;
    case WeightFormat::kF16:
      matmul_rows(weight.u16(), weight.cols, x, n, y, weight.rows, dot.f16);
      return;
    default:
      return;
  }
}

void matmul_reference(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  std::vector<float> row(static_cast<size_t>(weight.cols));
  for (int64_t r = 0; r < weight.rows; ++r) {
    weight.row_to_f32(r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double sum = 0.0;
      for (int64_t c = 0; c < weight.cols; ++c)
        sum += double(row[c]) * double(x[t * weight.cols + c]);
      y[t * weight.rows + r] = static_cast<float>(sum);
    }
  }
}

}  // namespace tc::kernels
