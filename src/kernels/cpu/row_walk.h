// How the threads share the rows of a decode matmul. Decode streams every
// weight once per token, so what matters is that each thread reads one long
// sequential stream its prefetches can run ahead in, and that no thread
// waits for another at the end of the matmul (~170 per decode step).
//
// Threads go in pairs. Each pair takes one contiguous segment of the rows:
// one thread walks it from the front, the other from the back, claiming
// rows a run at a time, until they meet. Each thread's claims follow on
// from each other, so the kernel can prefetch from one claim into the next
// (GemvNext) and a thread's reads are one stream; and wherever the two meet,
// neither waits for the other by more than one claim, however unevenly they
// share the memory bandwidth. The earlier partition, ~32 pieces per matmul
// claimed from the front by whichever thread was free, gave each thread
// many short streams, each starting cold. Two threads, 0.5B shape, the two
// partitions back to back: int4 decode 143 -> 188 tok/s (with the machine's
// read bandwidth at ~84 GB/s) and 126 -> 147 (at ~50 GB/s), int8 116 -> 137,
// dynamic int8 91 -> 119, bf16 67 -> 72, fp32 36 -> 39 (at ~84 GB/s).
//
// Prefill walks the same way: the packed GEMM's tasks (panels of 64 rows,
// matmul.cc) and the W8A8 GEMM's rows. There the next claim tells the
// GEMM which panel to prefetch after the current one.
#pragma once

#include <cstdint>
#include <functional>

#include "core/thread_pool.h"
#include "kernels/cpu/gemv.h"
#include "weights/weight_matrix.h"

namespace tc::kernels {

using weights::WeightFormat;
using weights::WeightMatrix;

// Rows [begin, end) for one kernel call, and what the same thread reads next.
struct RowClaim {
  int64_t begin = 0, end = 0;
  GemvNext next{};
};

// Calls body once per claim, on the pool's threads, so that the claims
// cover rows [0, rows) exactly once. Claims hold between min_claim and
// max_claim rows (fewer only for a segment's last rows), except that with
// one thread, or rows <= min_claim, one call takes them all. rows < 2^32.
void walk_rows(ThreadPool& pool, int64_t rows, int64_t max_claim, int64_t min_claim,
               const std::function<void(const RowClaim&)>& body);

// walk_rows for a decode matmul of `weight` on the global pool: claims of at
// most about kDecodeClaimBytes of the matrix (weights and scales), at least
// kDecodeMinClaimRows rows (16 fp32 results fill one line of y). Each claim
// is a compare-and-swap on the line both threads of a pair write, and
// between two claims a thread was measured to pause ~150 ns at ~80 GB/s
// (~50 ns at ~50 GB/s): about its prefetch lead, so the stream stalls.
// Fewer, longer claims stream faster.
// Only the lm_head and the largest layer matrices reach the cap (a claim is
// at most a quarter of the rows left, see row_walk.cc). Real fp32 decode
// steps of the 0.5B shape on two threads, alternated token by token with a
// 512 KiB cap, at ~80 GB/s: 1 MiB 1.1-1.4% faster, 2 MiB 1.7-2.4%, 4 MiB
// 1.1-3.2% (int4: ~1%), 8 and 16 MiB as 4; at ~50 GB/s all alike.
constexpr int64_t kDecodeClaimBytes = 4 * 1024 * 1024;
constexpr int64_t kDecodeMinClaimRows = 16;
void walk_decode_rows(const WeightMatrix& weight, const std::function<void(const RowClaim&)>& body);
// The same walk over `rows` rows that hold `bytes` in all (several matrices
// of one format laid end to end: matmul.cc's decode of q, k and v together).
void walk_decode_rows(int64_t rows, int64_t bytes,
                      const std::function<void(const RowClaim&)>& body);

}  // namespace tc::kernels
