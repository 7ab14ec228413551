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

// One token's x as a decode kernel reads it: quantized and split for the
// VNNI kernels, permuted for the int4 kernel (gemv.h), or as given.
// Prepared once on the caller's thread, in its thread-local buffers, and
// read by every thread of the walk while the caller waits.
struct DecodeInput {
  SplitX split{};
  const float* x = nullptr;
};

// Rows [begin, end) of one token's y = x · Wᵀ, single-threaded.
using GemvRowsFn = void (*)(const WeightMatrix& w, const DecodeInput& in, float* y, int64_t begin,
                            int64_t end, const GemvNext& next);
// y = x · Wᵀ for n tokens on any CPU, multi-threaded.
using MatmulFn = void (*)(const WeightMatrix& w, const float* x, int64_t n, float* y);

// The kernels of the CPU backend for one weight format. A null slot means
// the format has no kernel there: matmul() then takes the next path of the
// list, and the last one is the reference (each row dequantized by the
// format's table entry, weights/weight_format.h, then dotted in fp32),
// never another format's kernel.
struct FormatKernels {
  // Decode, one token, AVX-512 and AVX-512 VNNI (x split per `vnni_split`).
  GemvRowsFn gemv_avx512 = nullptr;
  GemvLayout gemv_layout = GemvLayout::kPlain;
  GemvRowsFn gemv_vnni = nullptr;
  SplitLayout vnni_split = SplitLayout::kBytes;
  // Several tokens on AVX-512: the prefill GEMM family (gemm_packed.h).
  GemmFn gemm = nullptr;
  // Every other case: the kernels of a CPU without AVX-512 (AVX2 or scalar).
  MatmulFn rows = nullptr;
};

// Several tokens, dense formats, without AVX-512: a dot product per (row,
// token) with this CPU's dot kernels (dot.h).
template <WeightFormat F>
void matmul_dense(const WeightMatrix& w, const float* x, int64_t n, float* y) {
  const DotKernels& dot = dot_kernels();
  if constexpr (F == WeightFormat::kF32) matmul_rows(w.f32(), w.cols, x, n, y, w.rows, dot.f32);
  if constexpr (F == WeightFormat::kBF16) matmul_rows(w.u16(), w.cols, x, n, y, w.rows, dot.bf16);
  if constexpr (F == WeightFormat::kF16) matmul_rows(w.u16(), w.cols, x, n, y, w.rows, dot.f16);
}

FormatKernels dense_kernels(GemvRowsFn gemv, GemmFn gemm, MatmulFn rows) {
  FormatKernels k;
  k.gemv_avx512 = gemv;
  k.gemm = gemm;
  k.rows = rows;
  return k;
}

const FormatKernels& format_kernels(WeightFormat format) {
  static const FormatKernels f32 = dense_kernels(
      [](const WeightMatrix& w, const DecodeInput& in, float* y, int64_t b, int64_t e,
         const GemvNext& next) { avx512::gemv_f32(w.f32(), w.cols, in.x, y, b, e, next); },
      avx512::gemm_packed<WeightFormat::kF32>, matmul_dense<WeightFormat::kF32>);
  static const FormatKernels bf16 = dense_kernels(
      [](const WeightMatrix& w, const DecodeInput& in, float* y, int64_t b, int64_t e,
         const GemvNext& next) { avx512::gemv_bf16(w.u16(), w.cols, in.x, y, b, e, next); },
      avx512::gemm_packed<WeightFormat::kBF16>, matmul_dense<WeightFormat::kBF16>);
  static const FormatKernels f16 = dense_kernels(
      [](const WeightMatrix& w, const DecodeInput& in, float* y, int64_t b, int64_t e,
         const GemvNext& next) { avx512::gemv_f16(w.u16(), w.cols, in.x, y, b, e, next); },
      avx512::gemm_packed<WeightFormat::kF16>, matmul_dense<WeightFormat::kF16>);
  static const FormatKernels q8_row = [] {
    FormatKernels k;
    k.gemv_avx512 = [](const WeightMatrix& w, const DecodeInput& in, float* y, int64_t b, int64_t e,
                       const GemvNext& next) {
      avx512::gemv_q8_row(w.i8(), w.row_scales(), w.cols, in.x, y, b, e, next);
    };
    k.gemv_vnni = [](const WeightMatrix& w, const DecodeInput& in, float* y, int64_t b, int64_t e,
                     const GemvNext& next) {
      avx512::gemv_q8_row_vnni(w.i8(), w.row_scales(), w.cols, in.split, y, b, e, next);
    };
    k.vnni_split = SplitLayout::kBytes;
    k.gemm = avx512::gemm_packed<WeightFormat::kQ8Row>;
    k.rows = matmul_q8_row;
    return k;
  }();
  // W8A8 has its own kernels at every level (q8_dynamic.h), one entry point.
  static const FormatKernels q8_row_dynamic = [] {
    FormatKernels k;
    k.rows = matmul_q8_dynamic;
    return k;
  }();
  // No AVX-512 decode kernel yet: one token takes the int8 dot products per
  // group of `rows`, as does every case without AVX-512.
  static const FormatKernels q8_g128 = [] {
    FormatKernels k;
    k.gemm = avx512::gemm_packed<WeightFormat::kQ8G128>;
    k.rows = matmul_q8_g128;
    return k;
  }();
  static const FormatKernels q4_g128 = [] {
    FormatKernels k;
    k.gemv_avx512 = [](const WeightMatrix& w, const DecodeInput& in, float* y, int64_t b, int64_t e,
                       const GemvNext& next) {
      avx512::gemv_q4_g128(w.storage.data(), w.group_scales(), w.cols, in.x, y, b, e, next);
    };
    k.gemv_layout = GemvLayout::kQ4Group;
    k.gemv_vnni = [](const WeightMatrix& w, const DecodeInput& in, float* y, int64_t b, int64_t e,
                     const GemvNext& next) {
      avx512::gemv_q4_g128_vnni(w.storage.data(), w.group_scales(), w.cols, in.split, y, b, e,
                                next);
    };
    k.vnni_split = SplitLayout::kNibblePairs;
    k.gemm = avx512::gemm_packed<WeightFormat::kQ4G128>;
    k.rows = matmul_q4_g128;
    return k;
  }();
  switch (format) {
    case WeightFormat::kF32:
      return f32;
    case WeightFormat::kBF16:
      return bf16;
    case WeightFormat::kF16:
      return f16;
    case WeightFormat::kQ8Row:
      return q8_row;
    case WeightFormat::kQ8RowDynamic:
      return q8_row_dynamic;
    case WeightFormat::kQ8G128:
      return q8_g128;
    case WeightFormat::kQ4G128:
      return q4_g128;
  }
  fail("matmul: weight format {} has no entry in the CPU kernel table", static_cast<int>(format));
}

// The decode kernel one token of this format takes on this CPU, or null.
GemvRowsFn decode_kernel(const FormatKernels& k) {
  if (!cpu_has_avx512()) return nullptr;
  if (k.gemv_vnni != nullptr && cpu_has_avx512_vnni()) return k.gemv_vnni;
  return k.gemv_avx512;
}

DecodeInput prepare_decode_input(const FormatKernels& k, GemvRowsFn kernel, const float* x,
                                 int64_t cols) {
  if (kernel == k.gemv_vnni) {
    const auto groups = static_cast<size_t>((cols + kSplitGroup - 1) / kSplitGroup);
    thread_local AlignedBuffer<int8_t> parts;
    thread_local AlignedBuffer<float> x_scales;
    thread_local AlignedBuffer<int32_t> corrections;
    if (x_scales.size() < groups) {
      parts.resize(groups * kSplitGroupBytes);
      x_scales.resize(groups);
      corrections.resize(groups * kSplitLanes);
    }
    avx512::split_x_vnni(k.vnni_split, x, cols, parts.data(), x_scales.data(), corrections.data());
    return {SplitX{parts.data(), x_scales.data(), corrections.data()}, nullptr};
  }
  if (k.gemv_layout == GemvLayout::kPlain) return {{}, x};
  thread_local AlignedBuffer<float> prepared;
  const auto size = static_cast<size_t>(gemv_prepared_size(k.gemv_layout, cols));
  if (prepared.size() < size) prepared.resize(size);
  gemv_prepare_x(k.gemv_layout, x, cols, prepared.data());
  return {{}, prepared.data()};
}

// The reference path of a format without kernels: each thread dequantizes
// a row through the format table, then dots it with every token.
void matmul_dequantized_rows(const WeightMatrix& w, const float* x, int64_t n, float* y) {
  const DotF32 dot = dot_kernels().f32;
  ThreadPool::global().parallel_for(
      static_cast<size_t>(w.rows), kRowGrain, [&](size_t begin, size_t end) {
        std::vector<float> row(static_cast<size_t>(w.cols));
        for (size_t r = begin; r < end; ++r) {
          w.row_to_f32(static_cast<int64_t>(r), row.data());
          for (int64_t t = 0; t < n; ++t)
            y[t * w.rows + static_cast<int64_t>(r)] = dot(row.data(), x + t * w.cols, w.cols);
        }
      });
}

// One token through the AVX-512 decode kernels, the rows walked by the
// threads (row_walk.h).
void gemv_avx512(const WeightMatrix& weight, GemvRowsFn kernel, const float* x, float* y) {
  const DecodeInput in =
      prepare_decode_input(format_kernels(weight.format), kernel, x, weight.cols);
  walk_decode_rows(weight,
                   [&](const RowClaim& c) { kernel(weight, in, y, c.begin, c.end, c.next); });
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
void gemv_avx512_together(std::span<const MatmulTarget> targets, GemvRowsFn kernel,
                          const float* x) {
  const WeightMatrix& first = *targets[0].weight;
  const DecodeInput in = prepare_decode_input(format_kernels(first.format), kernel, x, first.cols);
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
      kernel(weight, in, targets[i].y, begin - starts[i], end - starts[i], next);
      begin = end;
    }
  });
}

// The decode kernel with which one token through these matrices can be one
// walk (one format with an AVX-512 decode kernel, one input width), or null.
GemvRowsFn together_kernel(std::span<const MatmulTarget> targets) {
  if (targets.empty() || targets.size() > kMaxTogether) return nullptr;
  const WeightMatrix& first = *targets[0].weight;
  const bool alike = std::all_of(targets.begin(), targets.end(), [&](const MatmulTarget& t) {
    return t.weight->format == first.format && t.weight->cols == first.cols && t.weight->rows > 0;
  });
  return alike ? decode_kernel(format_kernels(first.format)) : nullptr;
}

PackedSource packed_source(const WeightMatrix& weight) {
  return PackedSource{weight.format, weight.storage.data(), weight.scales.data(), weight.rows,
                      weight.cols};
}

int64_t panel_count(const WeightMatrix& weight) {
  return (weight.rows + kPanelRows - 1) / kPanelRows;
}

int64_t token_block_count(int64_t n) { return (n + kTokenBlock - 1) / kTokenBlock; }

// One task of the GEMM family: rows [64 · panel, +64) for the token block,
// with the panel the same thread multiplies next.
void run_packed_task(const PackedSource& source, const float* x, int64_t n, float* y, int64_t panel,
                     int64_t block, const PackedNext& next) {
  format_kernels(source.format)
      .gemm(source, x, y, panel * kPanelRows, std::min(source.rows, (panel + 1) * kPanelRows),
            block * kTokenBlock, std::min(n, (block + 1) * kTokenBlock), next);
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

// Several tokens through the GEMM family, for each target. Tasks are
// (target, panel of 64 rows, block of up to 256 tokens), so even a matrix of
// one or two panels keeps every thread busy when there are many tokens.
void gemm_tasks(std::span<const MatmulTarget> targets, const float* x, int64_t n) {
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

// Whether x · Wᵀ for n tokens goes through the GEMM family: several tokens
// on AVX-512, for a format in it.
bool uses_gemm_family(const WeightMatrix& weight, int64_t n) {
  return n > 1 && cpu_has_avx512() && format_kernels(weight.format).gemm != nullptr;
}

}  // namespace

void matmul(const WeightMatrix& weight, const float* x, int64_t n, float* y) {
  const FormatKernels& kernels = format_kernels(weight.format);
  if (n == 1) {
    if (const GemvRowsFn kernel = decode_kernel(kernels)) return gemv_avx512(weight, kernel, x, y);
  }
  if (uses_gemm_family(weight, n)) {
    const MatmulTarget target{&weight, y};
    return gemm_tasks(std::span(&target, 1), x, n);
  }
  if (kernels.rows != nullptr) return kernels.rows(weight, x, n, y);
  matmul_dequantized_rows(weight, x, n, y);
}

void matmul_same_input(std::span<const MatmulTarget> targets, const float* x, int64_t n) {
  for (const MatmulTarget& target : targets) {
    if (target.weight->cols != targets[0].weight->cols) {
      fail("matmul_same_input: weights of {} and {} inputs cannot share x", targets[0].weight->cols,
           target.weight->cols);
    }
  }
  if (n == 1) {
    if (const GemvRowsFn kernel = together_kernel(targets))
      return gemv_avx512_together(targets, kernel, x);
  }
  const bool in_family = std::all_of(targets.begin(), targets.end(), [&](const MatmulTarget& t) {
    return uses_gemm_family(*t.weight, n);
  });
  if (!in_family) {
    for (const MatmulTarget& target : targets) matmul(*target.weight, x, n, target.y);
    return;
  }
  gemm_tasks(targets, x, n);
}

void matmul_silu_gate(const WeightMatrix& gate, const WeightMatrix& up, const float* x, int64_t n,
                      float* gate_y, float* up_y) {
  if (gate.rows != up.rows || gate.cols != up.cols) {
    fail("matmul_silu_gate: gate is {}x{} but up is {}x{}", gate.rows, gate.cols, up.rows, up.cols);
  }
  if (!uses_gemm_family(gate, n) || !uses_gemm_family(up, n)) {
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
