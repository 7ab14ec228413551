#include "core/thread_pool.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace tc {

namespace {
size_t g_global_threads = 0;

// How an idle thread waits for the next job (or for the other threads to
// finish): it polls with the CPU's pause hint for kPurePoll, then keeps
// polling but yields the core between polls until kPollBeforeSleep, then
// sleeps. A decode step issues ~170 matmuls separated by a few microseconds
// of single-threaded work and waking a sleeping thread costs tens of
// microseconds, so polling wins on a quiet machine; yielding keeps a busy
// machine (other processes on the same cores) from losing whole time slices
// to threads that only wait.
constexpr auto kPurePoll = std::chrono::microseconds(20);
constexpr auto kPollBeforeSleep = std::chrono::microseconds(500);

// Polls until `done()` or kPollBeforeSleep has passed; returns done().
template <typename Done>
bool poll_until(Done done) {
  const auto start = std::chrono::steady_clock::now();
  while (!done()) {
    for (int i = 0; i < 32; ++i) {
      _mm_pause();
      if (done()) return true;
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    if (waited > kPollBeforeSleep) return done();
    if (waited > kPurePoll) std::this_thread::yield();
  }
  return true;
}
}  // namespace

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  for (size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::run_chunk(size_t chunk_index) {
  const size_t begin = chunk_index * job_chunk_;
  const size_t end = std::min(job_n_, begin + job_chunk_);
  if (begin < end) (*body_)(begin, end);
}

void ThreadPool::parallel_for(size_t n, size_t grain,
                              const std::function<void(size_t, size_t)>& body) {
  if (n == 0) return;
  grain = std::max<size_t>(1, grain);
  const size_t max_chunks = (n + grain - 1) / grain;
  const size_t chunks = std::min(size(), max_chunks);
  if (chunks <= 1) {
    body(0, n);
    return;
  }
  // Chunk length rounded up to a multiple of the grain.
  size_t chunk = (n + chunks - 1) / chunks;
  chunk = (chunk + grain - 1) / grain * grain;
  run_job(body, n, chunk, chunks);
}

void ThreadPool::run_job(const std::function<void(size_t, size_t)>& body, size_t n, size_t chunk,
                         size_t chunks) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    job_n_ = n;
    job_chunk_ = chunk;
    job_chunks_ = chunks;
    pending_.store(chunks - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunk(0);
  // Wait for the workers; the chunks are short, so spin before yielding.
  const auto finished = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  while (!poll_until(finished)) std::this_thread::yield();
}

void ThreadPool::worker_loop(size_t worker_index) {
  uint64_t seen = 0;
  while (true) {
    // Spin a little for the next job before sleeping: decode issues many
    // small jobs back to back.
    const auto job_posted = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!poll_until(job_posted)) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    size_t chunks;
    {
      // The generation and the job it names are read together, under the
      // lock run_job posts them under. Read apart, a worker with no chunk in
      // one job could be overtaken by the next between the two reads, run
      // its chunk of that job, and then take the job for unseen and run the
      // chunk again.
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      seen = generation_.load(std::memory_order_relaxed);
      chunks = job_chunks_;
    }
    if (worker_index < chunks) {
      run_chunk(worker_index);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool(g_global_threads);
  return pool;
}

void ThreadPool::set_global_threads(size_t threads) { g_global_threads = threads; }

}  // namespace tc
