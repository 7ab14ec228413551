// walk_rows (kernels/cpu/row_walk.h): the claims of a decode matmul cover
// every row exactly once whatever the thread count, and the "next" rows each
// claim names are ones its thread may read next, inside its segment.
#include "kernels/cpu/row_walk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace tc::kernels {
namespace {

struct Walk {
  std::vector<int> times_claimed;
  std::vector<RowClaim> claims;
};

Walk walk(size_t threads, int64_t rows, int64_t max_claim, int64_t min_claim) {
  ThreadPool pool(threads);
  Walk result;
  result.times_claimed.assign(static_cast<size_t>(rows), 0);
  std::mutex mutex;
  walk_rows(pool, rows, max_claim, min_claim, [&](const RowClaim& claim) {
    std::lock_guard<std::mutex> lock(mutex);
    result.claims.push_back(claim);
    for (int64_t r = claim.begin; r < claim.end; ++r) ++result.times_claimed[r];
  });
  return result;
}

TEST(RowWalk, CoversEveryRowOnce) {
  for (const size_t threads : {1, 2, 3, 4, 5}) {
    for (const int64_t rows : {1, 15, 16, 17, 128, 896, 4864, 151936}) {
      for (const int64_t grain : {1, 16, 80, 1024}) {
        const Walk result = walk(threads, rows, grain, std::min<int64_t>(grain, 16));
        for (int64_t r = 0; r < rows; ++r) {
          ASSERT_EQ(result.times_claimed[r], 1)
              << "row " << r << " of " << rows << ", " << threads << " threads, grain " << grain;
        }
        for (const RowClaim& claim : result.claims) {
          ASSERT_LT(claim.begin, claim.end);
          // One thread reads all rows in one claim.
          if (threads > 1) {
            ASSERT_LE(claim.end - claim.begin, grain);
          }
          // The next rows are beside the claim, in the matrix.
          ASSERT_LE(claim.next.begin, claim.next.end);
          ASSERT_GE(claim.next.begin, 0);
          ASSERT_LE(claim.next.end, rows);
          if (claim.next.begin < claim.next.end) {
            ASSERT_TRUE(claim.next.begin == claim.end || claim.next.end == claim.begin);
          }
        }
      }
    }
  }
}

TEST(RowWalk, OneThreadMakesOneColdClaim) {
  const Walk result = walk(1, 896, 64, 16);
  ASSERT_EQ(result.claims.size(), 1u);
  EXPECT_EQ(result.claims[0].begin, 0);
  EXPECT_EQ(result.claims[0].end, 896);
  EXPECT_FALSE(result.claims[0].next.warm);
}

TEST(RowWalk, TwoThreadsWalkFromBothEnds) {
  ThreadPool pool(2);
  std::mutex mutex;
  std::vector<RowClaim> claims;
  std::atomic<int> started{0};
  walk_rows(pool, 1024, 64, 16, [&](const RowClaim& claim) {
    if (!claim.next.warm) {
      // Hold each thread's first claim until the other has made its own, so
      // that neither can take every row before the other starts.
      started.fetch_add(1);
      while (started.load() < 2) std::this_thread::yield();
    }
    std::lock_guard<std::mutex> lock(mutex);
    claims.push_back(claim);
  });
  // Two cold claims, one at each end; every later claim follows on from one
  // of its thread's earlier claims (so the kernel's prefetch into `next` was
  // for rows it then read).
  int cold = 0;
  bool front = false, back = false;
  for (const RowClaim& claim : claims) {
    if (claim.next.warm) continue;
    ++cold;
    front = front || (claim.begin == 0 && claim.next.begin == claim.end);
    back = back || (claim.end == 1024 && claim.next.end == claim.begin);
  }
  EXPECT_EQ(cold, 2);
  EXPECT_TRUE(front);
  EXPECT_TRUE(back);
  for (const RowClaim& claim : claims) {
    if (!claim.next.warm) continue;
    bool follows = false;
    for (const RowClaim& before : claims) {
      follows = follows || (before.next.begin == claim.begin && before.next.end >= claim.end) ||
                (before.next.end == claim.end && before.next.begin <= claim.begin);
    }
    EXPECT_TRUE(follows) << "claim [" << claim.begin << ", " << claim.end << ")";
  }
}

// A decode matmul's claims hold at most about kDecodeClaimBytes of its rows:
// the lm_head's (151936 fp32 rows of 896) in claims of at most 1171 rows
// (4 MiB), so a walk over it makes a few hundred claims, not 151936 / 16.
TEST(RowWalk, DecodeClaimsHoldAtMostTheClaimBytes) {
  const int64_t rows = 151936, row_bytes = 896 * 4;
  const int64_t max_rows = (kDecodeClaimBytes + row_bytes - 1) / row_bytes;
  ASSERT_EQ(max_rows, 1171);
  std::mutex mutex;
  std::vector<int> times_claimed(static_cast<size_t>(rows), 0);
  std::vector<RowClaim> claims;
  walk_decode_rows(rows, rows * row_bytes, [&](const RowClaim& claim) {
    std::lock_guard<std::mutex> lock(mutex);
    claims.push_back(claim);
    for (int64_t r = claim.begin; r < claim.end; ++r) ++times_claimed[static_cast<size_t>(r)];
  });
  for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(times_claimed[static_cast<size_t>(r)], 1) << r;
  if (ThreadPool::global().size() == 1) {
    EXPECT_EQ(claims.size(), 1u);  // one thread reads the rows as one claim
    return;
  }
  for (const RowClaim& claim : claims) ASSERT_LE(claim.end - claim.begin, max_rows);
  EXPECT_GE(claims.size(), static_cast<size_t>(rows / max_rows));
  EXPECT_LT(claims.size(), 400u);
}

}  // namespace
}  // namespace tc::kernels
