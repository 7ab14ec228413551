// A small fixed-size thread pool for data-parallel loops.
//
// The calling thread takes part in every loop, so a pool of N threads uses
// N-1 workers. A decode step runs ~170 matmuls, so dispatch is kept cheap:
// one shared job, a generation counter, workers that spin briefly before
// sleeping.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tc {

class ThreadPool {
 public:
  // `threads` counts the caller; 0 means one per hardware thread.
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }

  // Calls body(begin, end) on disjoint chunks covering [0, n), at most one
  // chunk per thread, each chunk a multiple of `grain` (except the last).
  void parallel_for(size_t n, size_t grain,
                    const std::function<void(size_t begin, size_t end)>& body);

  // The process-wide pool used by the kernels; its size is set once by
  // set_global_threads (the --threads flag) before first use.
  static ThreadPool& global();
  static void set_global_threads(size_t threads);

 private:
  void worker_loop(size_t worker_index);
  void run_chunk(size_t chunk_index);
  // Posts a job to the workers, runs chunk 0 here and waits for the rest.
  void run_job(const std::function<void(size_t, size_t)>& body, size_t n, size_t chunk,
               size_t chunks);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<size_t> pending_{0};
  bool stopping_ = false;

  // The job in flight.
  const std::function<void(size_t, size_t)>* body_ = nullptr;
  size_t job_n_ = 0;
  size_t job_chunk_ = 0;
  size_t job_chunks_ = 0;
};

}  // namespace tc
