#include "kernels/cpu/row_walk.h"

#include <algorithm>
#include <atomic>
#include <memory>

namespace tc::kernels {

namespace {

// Claims shrink as the two walkers near each other: a quarter of the rows
// left, rounded up to whole `min` rows, and at most `max`. Far apart, each
// claim is long (few compare-and-swaps); near the meeting point they are
// short, so neither thread is left waiting for the other's last claim.
struct ClaimSizes {
  int64_t max = 1, min = 1;
  int64_t take(int64_t left) const {
    const int64_t quarter = (left / 4 + min - 1) / min * min;
    return std::clamp(quarter, min, max);
  }
};

// The unclaimed rows [front, back) of one pair's segment, in one word so a
// claim from either end is one compare-and-swap. Own cache line: the two
// threads of a pair write it, other pairs never.
struct alignas(64) Segment {
  std::atomic<uint64_t> unclaimed{0};

  static uint64_t pack(int64_t front, int64_t back) {
    return static_cast<uint64_t>(front) | (static_cast<uint64_t>(back) << 32);
  }
  static int64_t front_of(uint64_t word) { return static_cast<int64_t>(word & 0xffffffffu); }
  static int64_t back_of(uint64_t word) { return static_cast<int64_t>(word >> 32); }

  // The next claim from the front (or the back), with the claim its thread
  // will then probably make as `next`; empty when no row is left.
  RowClaim claim(bool from_back, const ClaimSizes& sizes) {
    uint64_t word = unclaimed.load(std::memory_order_relaxed);
    while (true) {
      const int64_t front = front_of(word), back = back_of(word);
      if (front >= back) return {};
      const int64_t take = sizes.take(back - front);
      RowClaim claim;
      if (from_back) {
        claim.begin = std::max(front, back - take);
        claim.end = back;
      } else {
        claim.begin = front;
        claim.end = std::min(back, front + take);
      }
      const uint64_t rest = from_back ? pack(front, claim.begin) : pack(claim.end, back);
      if (unclaimed.compare_exchange_weak(word, rest, std::memory_order_relaxed)) {
        // The same rule on what is left, if the partner claims nothing
        // meanwhile (if it does, only a prefetch is wasted).
        const int64_t next_take = sizes.take(from_back ? claim.begin - front : back - claim.end);
        claim.next.begin = from_back ? std::max(front, claim.begin - next_take) : claim.end;
        claim.next.end = from_back ? claim.begin : std::min(back, claim.end + next_take);
        return claim;
      }
    }
  }
};

}  // namespace

void walk_rows(ThreadPool& pool, int64_t rows, int64_t max_claim, int64_t min_claim,
               const std::function<void(const RowClaim&)>& body) {
  if (rows <= 0) return;
  ClaimSizes sizes;
  sizes.min = std::max<int64_t>(1, min_claim);
  sizes.max = std::max(sizes.min, max_claim);
  const int64_t walkers =
      std::min(static_cast<int64_t>(pool.size()), (rows + sizes.min - 1) / sizes.min);
  if (walkers <= 1) {
    body({0, rows, {}});
    return;
  }
  // Segments of whole min claims; with an odd number of walkers the last
  // segment has one, which walks it from the front alone.
  const int64_t pairs = (walkers + 1) / 2;
  thread_local std::unique_ptr<Segment[]> segments;
  thread_local int64_t capacity = 0;
  if (capacity < pairs) {
    segments = std::make_unique<Segment[]>(static_cast<size_t>(pairs));
    capacity = pairs;
  }
  const int64_t units = (rows + sizes.min - 1) / sizes.min;
  for (int64_t s = 0; s < pairs; ++s) {
    const int64_t first = std::min(rows, s * units / pairs * sizes.min);
    const int64_t last = std::min(rows, (s + 1) * units / pairs * sizes.min);
    segments[s].unclaimed.store(Segment::pack(first, last), std::memory_order_relaxed);
  }
  Segment* const shared = segments.get();
  pool.parallel_for(static_cast<size_t>(walkers), 1, [&](size_t begin, size_t end) {
    for (size_t walker = begin; walker < end; ++walker) {
      Segment& segment = shared[walker / 2];
      const bool from_back = walker % 2 == 1;
      bool warm = false;
      while (true) {
        RowClaim claim = segment.claim(from_back, sizes);
        if (claim.begin >= claim.end) break;
        claim.next.warm = warm;
        body(claim);
        warm = true;
      }
    }
  });
}

void walk_decode_rows(int64_t rows, int64_t bytes,
                      const std::function<void(const RowClaim&)>& body) {
  if (rows <= 0) return;
  const int64_t row_bytes = std::max<int64_t>(1, bytes / rows);
  const int64_t max_rows = (kDecodeClaimBytes + row_bytes - 1) / row_bytes;
  walk_rows(ThreadPool::global(), rows, max_rows, kDecodeMinClaimRows, body);
}

void walk_decode_rows(const WeightMatrix& weight,
                      const std::function<void(const RowClaim&)>& body) {
  walk_decode_rows(weight.rows, static_cast<int64_t>(weight.bytes()), body);
}

}  // namespace tc::kernels
