// Read order and software prefetch shared by the AVX-512 decode kernels
// (gemv_avx512.cc, gemv_vnni_avx512.cc, q8_dynamic_avx512.cc). Plain
// baseline code, included before their AVX-512 regions; it inlines into them.
//
// A matrix's rows are contiguous, so the rows [row_begin, row_end) a thread
// takes are one run of memory. The kernels read it in address order, one row
// after the other, and prefetch kStreamLead bytes ahead of where they read,
// up to the end of the run or on into the rows the thread reads next
// (GemvNext): one sequential stream per thread. The kernels
// first walked four rows at once (each load of x fed four rows), which made
// four interleaved streams a row apart; with short rows (int8 rows of 896
// bytes, int4 of 448) and a 1 KiB lead per stream, the int8 lm_head read
// 34 GB/s on one thread and 64-68 on two, where one stream with an 8 KiB lead
// reads 37-39 and 77-79 (read bandwidth 40 and 80). x is reloaded for every
// row, but from L1.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/gemv.h"  // GemvNext

namespace tc::kernels::gemv_prefetch {

// Bytes ahead of the read position. 4 KiB measured a little slower and
// 32 KiB slower again (it runs past L1 before the lines are used).
constexpr int64_t kStreamLead = 8192;

// A thread's run of rows, ending at `end`, and prefetches up to its end:
// past it are rows another thread may be reading, or another matrix. When
// the caller knows which rows it reads next ([next_begin, next_end), see
// GemvNext in gemv.h), the prefetch runs on into them, so two calls read as
// one stream with no stall between them.
class Stream {
 public:
  Stream(const void* end, const void* next_begin, const void* next_end, int64_t lead = kStreamLead)
      : end_(static_cast<const char*>(end)),
        next_(static_cast<const char*>(next_begin)),
        next_bytes_(static_cast<const char*>(next_end) - static_cast<const char*>(next_begin)),
        lead_(lead) {}

  // The same rows' per-row scales, `scale_bytes` a row against `row_bytes`
  // of weights: prefetched as far ahead, in rows, as the weights (at least
  // the next line). Unprefetched, the load of a new line of scales stalled
  // the int8 kernel once every 16 rows.
  static Stream scales(const void* end, const void* next_begin, const void* next_end,
                       int64_t scale_bytes, int64_t row_bytes) {
    const int64_t lead = kStreamLead * scale_bytes / (row_bytes > 0 ? row_bytes : 1);
    return Stream(end, next_begin, next_end, lead > 64 ? lead : 64);
  }

  // The first `lead` bytes of the run from `begin` (all of it if shorter),
  // which prefetch_ahead never covers: issued at the kernel's entry so a
  // thread does not start its run on demand misses. On two threads it took
  // the int8 896x896 GEMV (a thread's run is 400 KB) from 27-30 to 34 GB/s
  // and int4 from 14-17 to 19-26; on one thread it measured neutral.
  void prefetch_start(const void* begin) const {
    const char* p = static_cast<const char*>(begin);
    const char* stop = p + lead_ < end_ ? p + lead_ : end_;
    for (; p < stop; p += 64) _mm_prefetch(p, _MM_HINT_T0);
  }

  // The line `lead` bytes after p: in the run, or as far into the next rows.
  void prefetch_ahead(const void* p) const {
    const char* ahead = static_cast<const char*>(p) + lead_;
    if (ahead < end_) {
      _mm_prefetch(ahead, _MM_HINT_T0);
    } else if (ahead - end_ < next_bytes_) {
      _mm_prefetch(next_ + (ahead - end_), _MM_HINT_T0);
    }
  }

 private:
  const char* end_;
  const char* next_;
  int64_t next_bytes_;
  int64_t lead_;
};

// The two streams of a thread's rows [row_begin, row_end) of a matrix whose
// rows have their own scales: `row_bytes` of weights a row from `weights`,
// `scale_bytes` of scales a row from `scales`. Both continue into the rows
// `next` names, and unless `next.warm` both start warm.
class ScaledRows {
 public:
  ScaledRows(const void* weights, int64_t row_bytes, const void* scales, int64_t scale_bytes,
             int64_t row_begin, int64_t row_end, const GemvNext& next)
      : scale_base_(static_cast<const char*>(scales)),
        scale_bytes_(scale_bytes),
        weights_(row(weights, row_bytes, row_end), row(weights, row_bytes, next.begin),
                 row(weights, row_bytes, next.end)),
        scales_(Stream::scales(row(scales, scale_bytes, row_end),
                               row(scales, scale_bytes, next.begin),
                               row(scales, scale_bytes, next.end), scale_bytes, row_bytes)) {
    if (!next.warm) {
      weights_.prefetch_start(row(weights, row_bytes, row_begin));
      scales_.prefetch_start(row(scales, scale_bytes, row_begin));
    }
  }

  const Stream& weights() const { return weights_; }
  // Called once per row r, before its scales are read.
  void prefetch_scales(int64_t r) const { scales_.prefetch_ahead(scale_base_ + r * scale_bytes_); }

 private:
  static const char* row(const void* base, int64_t bytes, int64_t r) {
    return static_cast<const char*>(base) + r * bytes;
  }
  const char* scale_base_;
  int64_t scale_bytes_;
  Stream weights_, scales_;
};

// The first `count` of 64 byte lanes (none for count <= 0).
inline __mmask64 mask64(int64_t count) {
  return count >= 64  ? static_cast<__mmask64>(~0ull)
         : count <= 0 ? static_cast<__mmask64>(0)
                      : static_cast<__mmask64>((1ull << count) - 1);
}

}  // namespace tc::kernels::gemv_prefetch
