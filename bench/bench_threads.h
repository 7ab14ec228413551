// TC_THREADS=N sets the global pool's size for a benchmark program (default:
// one thread per hardware thread). Call at the top of every benchmark body;
// it takes effect once.
#pragma once

#include <cstdlib>

#include "core/thread_pool.h"

namespace tc::bench {

inline void init_threads_from_env() {
  static const bool done = [] {
    if (const char* env = std::getenv("TC_THREADS")) {
      ThreadPool::set_global_threads(static_cast<size_t>(std::atoi(env)));
    }
    return true;
  }();
  (void)done;
}

}  // namespace tc::bench
