// Row blocking and software prefetch shared by the AVX-512 decode kernels
// (gemv_avx512.cc, gemv_vnni_avx512.cc). Include it only from those files:
// both are built with the same AVX-512 flags, so these inline definitions are
// the same code wherever the linker takes them from.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tc::kernels::gemv_prefetch {

// Rows per block: each vector of x, loaded once, feeds this many rows.
constexpr int kRowBlock = 4;

// Where R rows of an int4 g128 matrix start, from row r: their packed
// nibbles ((cols + 1) / 2 bytes a row) and their fp16 group scales.
template <int R>
struct Q4Rows {
  Q4Rows(const uint8_t* packed, const uint16_t* group_scales, int64_t cols, int64_t r) {
    const int64_t row_bytes = (cols + 1) / 2, groups = (cols + 127) / 128;
    for (int i = 0; i < R; ++i) {
      nibbles[i] = packed + (r + i) * row_bytes;
      scales[i] = group_scales + (r + i) * groups;
    }
  }
  const uint8_t* nibbles[R];
  const uint16_t* scales[R];
};

// The first `count` of 64 byte lanes (none for count <= 0).
inline __mmask64 mask64(int64_t count) {
  return count >= 64  ? static_cast<__mmask64>(~0ull)
         : count <= 0 ? static_cast<__mmask64>(0)
                      : static_cast<__mmask64>((1ull << count) - 1);
}

// Each kernel also prefetches every row's stream kStreamLead bytes ahead:
// four rows interleaved are four streams, which the hardware prefetchers
// alone keep only a fraction of the memory bandwidth busy for (measured: 8 →
// 32 GB/s on one thread for int8 rows of 896). Past the end of a row the
// stream continues in the same row of the next block, kRowBlock rows down,
// which is where a kernel reads next. A lead of 1 KiB per stream (4 KiB per
// thread) covers the memory latency and stays in L1; prefetching whole
// blocks ahead instead ran past L1 on long rows (down_proj of 1.5B: 17.5 KiB
// per bf16 row), and 512 B or 2 KiB measured no better.
constexpr int64_t kStreamLead = 1024;

inline void prefetch_line(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

// Where a row's prefetches point, as a byte offset from the element being
// read: kStreamLead ahead in the same row while that is inside the row, then
// the same spot one row block down (the stream's continuation). The loops
// split at `same_row_end` so the offset is a constant in each part. Rows
// shorter than the lead are prefetched at the same offset as many blocks
// ahead as it takes to be at least kStreamLead of the stream ahead: one
// block ahead (as this code first did) left int4 rows of 896 inputs, 448
// bytes, with under 2 KiB in flight per thread, and the int4 lm_head ran at
// 20 GB/s on one thread where int8 rows reached 30.
struct PrefetchPlan {
  int64_t same_row_end;  // elements [0, same_row_end) use same_row
  int64_t same_row;      // bytes ahead within the row
  int64_t next_block;    // bytes ahead into the next row block
};

// element_bytes_x2: bytes of two elements (int4 packs two per byte); step:
// elements per loop iteration (same_row_end is a multiple of it).
inline PrefetchPlan prefetch_plan(int64_t row_bytes, int64_t element_bytes_x2, int64_t step) {
  if (row_bytes < kStreamLead) {
    const int64_t blocks = row_bytes > 0 ? (kStreamLead + row_bytes - 1) / row_bytes : 1;
    return {0, 0, blocks * kRowBlock * row_bytes};
  }
  int64_t end = (row_bytes - kStreamLead) * 2 / element_bytes_x2;
  end = end / step * step;
  return {end, kStreamLead, kStreamLead + (kRowBlock - 1) * row_bytes};
}

}  // namespace tc::kernels::gemv_prefetch
