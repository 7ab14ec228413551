#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <array>
#include <functional>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/dot.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_packed.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/matmul_quant.h"
#include "kernels/cpu/ops.h"
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

// One token's x as the AVX-512 decode kernels of a format read it:
// quantized and split for the VNNI kernels (int4 and int8 per row, on CPUs
// with VNNI; ~10 ns per group of 128), in the layout the kernel names, or
// as given. Prepared once on the caller's thread, in its thread-local
// buffers, and read by every thread of the walk while the caller waits.
struct DecodeInput {
  bool vnni = false;
  SplitX split{};
  const float* x = nullptr;
};

bool uses_vnni_gemv(WeightFormat format) {
  return (format == WeightFormat::kQ4G128 || format == WeightFormat::kQ8Row) &&
         cpu_has_avx512_vnni();
}

DecodeInput prepare_decode_input(WeightFormat format, const float* x, int64_t cols) {
  if (uses_vnni_gemv(format)) {
    const auto groups = static_cast<size_t>((cols + kSplitGroup - 1) / kSplitGroup);
    thread_local AlignedBuffer<int8_t> parts;
    thread_local AlignedBuffer<float> x_scales;
    thread_local AlignedBuffer<int32_t> corrections;
    if (x_scales.size() < groups) {
      parts.resize(groups * kSplitGroupBytes);
      x_scales.resize(groups);
      corrections.resize(groups * kSplitLanes);
    }
    avx512::split_x_vnni(
        format == WeightFormat::kQ4G128 ? SplitLayout::kNibblePairs : SplitLayout::kBytes, x, cols,
        parts.data(), x_scales.data(), corrections.data());
    return {true, SplitX{parts.data(), x_scales.data(), corrections.data()}, nullptr};
  }
  const GemvLayout layout = gemv_layout(format);
  if (layout == GemvLayout::kPlain) return {false, {}, x};
  thread_local AlignedBuffer<float> prepared;
  const auto size = static_cast<size_t>(gemv_prepared_size(layout, cols));
  if (prepared.size() < size) prepared.resize(size);
  gemv_prepare_x(layout, x, cols, prepared.data());
  return {false, {}, prepared.data()};
}

// Rows [begin, end) of one token's y = x · Wᵀ through the AVX-512 (or VNNI)
// decode kernel of the weight's format.
void gemv_rows_avx512(const WeightMatrix& weight, const DecodeInput& in, float* y, int64_t begin,
                      int64_t end, const GemvNext& next) {
  const int64_t cols = weight.cols;
  if (in.vnni) {
    if (weight.format == WeightFormat::kQ4G128) {
      return avx512::gemv_q4_g128_vnni(weight.storage.data(), weight.group_scales(), cols, in.split,
                                       y, begin, end, next);
    }
    return avx512::gemv_q8_row_vnni(weight.i8(), weight.row_scales(), cols, in.split, y, begin, end,
                                    next);
  }
  switch (weight.format) {
    case WeightFormat::kF32:
      return avx512::gemv_f32(weight.f32(), cols, in.x, y, begin, end, next);
    case WeightFormat::kBF16:
      return avx512::gemv_bf16(weight.u16(), cols, in.x, y, begin, end, next);
    case WeightFormat::kF16:
      return avx512::gemv_f16(weight.u16(), cols, in.x, y, begin, end, next);
    case WeightFormat::kQ8Row:
      return avx512::gemv_q8_row(weight.i8(), weight.row_scales(), cols, in.x, y, begin, end, next);
    case WeightFormat::kQ4G128:
      return avx512::gemv_q4_g128(weight.storage.data(), weight.group_scales(), cols, in.x, y,
                                  begin, end, next);
    case WeightFormat::kQ8RowDynamic:
      return;
  }
}

// One token through the AVX-512 decode kernels, the rows walked by the
// threads (row_walk.h).
void gemv_avx512(const WeightMatrix& weight, const float* x, float* y) {
  const DecodeInput in = prepare_decode_input(weight.format, x, weight.cols);
  walk_decode_rows(
      weight, [&](const RowClaim& c) { gemv_rows_avx512(weight, in, y, c.begin, c.end, c.next); });
}

// One token through several matrices of one format that share x (a layer's
// q, k and v; gate and up): one walk over their rows laid end to end, so
// the threads meet once, not once per matrix, and x is prepared once (the
// small k and v, 128 rows each at the 0.5B shape, were mostly ramp and
// meeting). Two threads, 0.5B shape, profiled decode: q, k and v took 15.7
// → 13.9 µs a layer with int4 weights, 90 → 87 µs with fp32; gate and up
// measured alike either way. A claim that crosses from one matrix into the
// next runs as a piece per matrix; the kernel prefetches into what its
// thread reads next only within the same matrix.
constexpr size_t kMaxTogether = 4;
void gemv_avx512_together(std::span<const MatmulTarget> targets, const float* x) {
  const WeightMatrix& first = *targets[0].weight;
  const DecodeInput in = prepare_decode_input(first.format, x, first.cols);
  std::array<int64_t, kMaxTogether + 1> starts{};  // target i's rows start at starts[i]
  int64_t bytes = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    starts[i + 1] = starts[i] + targets[i].weight->rows;
    bytes += static_cast<int64_t>(targets[i].weight->bytes());
  }
  const auto target_of = [&](int64_t row) {
    size_t i = 0;
    while (row >= starts[i + 1]) ++i;
    return i;
  };
  walk_decode_rows(starts[targets.size()], bytes, [&](const RowClaim& c) {
    for (int64_t begin = c.begin; begin < c.end;) {
      const size_t i = target_of(begin);
      const int64_t end = std::min(c.end, starts[i + 1]);
      // What the thread reads after this piece, in this matrix's rows.
      GemvNext next{0, 0, begin == c.begin && c.next.warm};
      if (end == c.end) {
        next.begin = std::max(c.next.begin, starts[i]) - starts[i];
        next.end = std::min(c.next.end, starts[i + 1]) - starts[i];
        if (next.begin >= next.end) next.begin = next.end = 0;
      }
      const WeightMatrix& weight = *targets[i].weight;
      gemv_rows_avx512(weight, in, targets[i].y, begin - starts[i], end - starts[i], next);
      begin = end;
    }
  });
}

// Whether one token through these matrices can be one walk: one format with
// an AVX-512 decode kernel, one input width.
bool gemv_together_possible(std::span<const MatmulTarget> targets) {
  if (targets.empty() || targets.size() > kMaxTogether || !cpu_has_avx512()) return false;
  const WeightMatrix& first = *targets[0].weight;
  return has_avx512_gemv(first.format) &&
         std::all_of(targets.begin(), targets.end(), [&](const MatmulTarget& t) {
           return t.weight->format == first.format && t.weight->cols == first.cols &&
                  t.weight->rows > 0;
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

PackedSource packed_source(const WeightMatrix& weight) {
  return PackedSource{packed_format(weight.format), weight.storage.data(), weight.scales.data(),
                      weight.rows, weight.cols};
}

int64_t panel_count(const WeightMatrix& weight) {
  return (weight.rows + kPanelRows - 1) / kPanelRows;
}

int64_t token_block_count(int64_t n) { return (n + kTokenBlock - 1) / kTokenBlock; }

// One task of a packed GEMM: rows [64 · panel, +64) for the token block,
// with the panel the same thread multiplies next.
void run_packed_task(const PackedSource& source, const float* x, int64_t n, float* y, int64_t panel,
                     int64_t block, const PackedNext& next) {
  avx512::gemm_packed(source, x, y, panel * kPanelRows,
                      std::min(source.rows, (panel + 1) * kPanelRows), block * kTokenBlock,
                      std::min(n, (block + 1) * kTokenBlock), next);
}

// Calls body(task, following) for tasks [0, count) on the pool: following is
// the task the same thread will probably run next, or -1. The tasks are
// walked like decode rows (row_walk.h): each thread takes runs of
// consecutive tasks, from the front or from the back of the list, so the
// task after the current one is known and its weights can be prefetched,
// and a thread slowed by a neighbour on its core takes fewer. Claimed one at
// a time from a shared counter instead, a thread's next panel was often not
// the one it had prefetched (the other thread had taken it), every such
// pack began from cold memory, and the two-thread fp32 GEMM (4864 x 896,
// 128 tokens, quant_matmul_bench) ran at 335-468 GFLOP/s, against 414-469
// walked; the low end came in the minutes when memory answered slowly.
void walk_packed_tasks(int64_t count, const std::function<void(int64_t, int64_t)>& body) {
  walk_rows(ThreadPool::global(), count, count, 1, [&](const RowClaim& claim) {
    for (int64_t task = claim.begin; task < claim.end; ++task) {
      const bool last = task + 1 == claim.end;
      const bool next_known = claim.next.begin < claim.next.end;
      body(task, !last ? task + 1 : next_known ? claim.next.begin : -1);
    }
  });
}

// Several tokens through the packed-panel GEMM, for each target. Tasks are
// (target, panel of 64 rows, block of up to 256 tokens), so even a matrix of
// one or two panels keeps every thread busy when there are many tokens.
void gemm_packed(std::span<const MatmulTarget> targets, const float* x, int64_t n) {
  const int64_t blocks = token_block_count(n);
  std::vector<PackedSource> sources;
  std::vector<int64_t> first_task{0};  // target i's tasks start at first_task[i]
  for (const MatmulTarget& target : targets) {
    sources.push_back(packed_source(*target.weight));
    first_task.push_back(first_task.back() + panel_count(*target.weight) * blocks);
  }
  const auto target_of = [&](int64_t task) {
    size_t i = 0;
    while (task >= first_task[i + 1]) ++i;
    return i;
  };
  walk_packed_tasks(first_task.back(), [&](int64_t task, int64_t following) {
    PackedNext next{nullptr, 0};
    if (following >= 0) {
      const size_t j = target_of(following);
      next = {&sources[j], (following - first_task[j]) / blocks * kPanelRows};
    }
    const size_t i = target_of(task);
    const int64_t local = task - first_task[i];
    run_packed_task(sources[i], x, n, targets[i].y, local / blocks, local % blocks, next);
  });
}

// Whether x · Wᵀ for n tokens goes through the packed panels.
bool uses_packed_gemm(const WeightMatrix& weight, int64_t n) {
  return n >= kPackedMinTokens && cpu_has_avx512() && has_packed_gemm(weight.format);
}

}  // namespace

void matmul(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  if (n == 1 && cpu_has_avx512() && has_avx512_gemv(weight.format)) {
    return gemv_avx512(weight, x, y);
  }
  if (uses_packed_gemm(weight, n)) {
    const MatmulTarget target{&weight, y};
    return gemm_packed(std::span(&target, 1), x, n);
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
          avx512::gemm_rows(format, weight.storage.data(), weight.cols, x, n, y, weight.rows,
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
      break;
  }
  fail("matmul: no kernel for {} weights", weight_format_name(weight.format));
}

void matmul_same_input(std::span<const MatmulTarget> targets, const float* x, int64_t n) {
  for (const MatmulTarget& target : targets) {
    if (target.weight->cols != targets[0].weight->cols) {
      fail("matmul_same_input: weights of {} and {} inputs cannot share x", targets[0].weight->cols,
           target.weight->cols);
    }
  }
  if (n == 1 && gemv_together_possible(targets)) return gemv_avx512_together(targets, x);
  const bool packed = std::all_of(targets.begin(), targets.end(), [&](const MatmulTarget& t) {
    return uses_packed_gemm(*t.weight, n);
  });
  if (!packed) {
    for (const MatmulTarget& target : targets) matmul(*target.weight, x, n, target.y);
    return;
  }
  gemm_packed(targets, x, n);
}

void matmul_silu_gate(const WeightMatrix& gate, const WeightMatrix& up, const float* x, int64_t n,
                      float* gate_y, float* up_y) {
  if (gate.rows != up.rows || gate.cols != up.cols) {
    fail("matmul_silu_gate: gate is {}x{} but up is {}x{}", gate.rows, gate.cols, up.rows, up.cols);
  }
  if (!uses_packed_gemm(gate, n) || !uses_packed_gemm(up, n)) {
    const MatmulTarget both[] = {{&gate, gate_y}, {&up, up_y}};
    matmul_same_input(both, x, n);
    silu_mul(gate_y, up_y, n * gate.rows);
    return;
  }
  const PackedSource gate_source = packed_source(gate), up_source = packed_source(up);
  const int64_t blocks = token_block_count(n);
  const int64_t rows = gate.rows;
  // A task is a panel of the gate, then the same panel of up, then SiLU·mul.
  walk_packed_tasks(panel_count(gate) * blocks, [&](int64_t task, int64_t following) {
    const int64_t panel = task / blocks, block = task % blocks;
    const int64_t r0 = panel * kPanelRows, nr = std::min(kPanelRows, rows - r0);
    run_packed_task(gate_source, x, n, gate_y, panel, block, {&up_source, r0});
    const PackedNext after_up = following >= 0
                                    ? PackedNext{&gate_source, following / blocks * kPanelRows}
                                    : PackedNext{nullptr, 0};
    run_packed_task(up_source, x, n, up_y, panel, block, after_up);
    for (int64_t t = block * kTokenBlock; t < std::min(n, (block + 1) * kTokenBlock); ++t)
      silu_mul_serial(gate_y + t * rows + r0, up_y + t * rows + r0, nr);
  });
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
