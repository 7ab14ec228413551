#include "core/thread_pool.h"

#include <algorithm>
#include <memory>

namespace tc {

namespace {
size_t g_global_threads = 0;
}

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
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins > 4096) std::this_thread::yield();
  }
}

void ThreadPool::worker_loop(size_t worker_index) {
  uint64_t seen = 0;
  while (true) {
    // Spin a little for the next job before sleeping: decode issues many
    // small jobs back to back.
    uint64_t current = generation_.load(std::memory_order_acquire);
    for (int spins = 0; current == seen && spins < 20000; ++spins) {
      current = generation_.load(std::memory_order_acquire);
    }
    if (current == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      current = generation_.load(std::memory_order_acquire);
    }
    seen = current;
    size_t chunks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
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
