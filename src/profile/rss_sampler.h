// Peak resident memory of this process over a window (one cell, one run).
//
// A background thread reads the resident set size every `interval` and keeps
// the maximum. Sampling can miss a short spike that rises and falls between two
// samples, so the report also carries the kernel's own high-water mark (VmHWM)
// and says the peak is unreliable when the two disagree.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace tc::profile {

struct RssReport {
  uint64_t baseline_bytes = 0;  // RSS when sampling started
  uint64_t peak_bytes = 0;      // largest sampled RSS (baseline and final sample included)
  uint64_t samples = 0;         // RSS readings taken, baseline and final included
  double interval_ms = 0;       // requested sampling interval
  double duration_s = 0;        // start() to stop()
  // VmHWM at stop: the kernel's high-water mark. The sampler resets it at start
  // (/proc/self/clear_refs) where the kernel allows, so it then covers exactly
  // this window; 0 when it could not be read.
  uint64_t kernel_peak_bytes = 0;
  std::string note;      // why the report is unreliable, or other caveats; empty when none
  bool reliable = true;  // false: peak_bytes should not be trusted as the window's peak
};

// Resident set size of this process now (/proc/self/statm); nullopt when /proc is unreadable.
std::optional<uint64_t> current_rss_bytes();
// VmHWM from /proc/self/status; nullopt when unreadable.
std::optional<uint64_t> kernel_peak_rss_bytes();

class PeakRssSampler {
 public:
  static constexpr std::chrono::microseconds kDefaultInterval{5000};
  // Fewer samples than this and the peak is reported unreliable.
  static constexpr uint64_t kMinReliableSamples = 10;
  // VmHWM above the sampled peak by more than this fraction: a spike was missed.
  static constexpr double kMaxKernelPeakExcess = 0.10;

  enum class StartMode { kNow, kDeferred };

  // Starts sampling at once unless `mode` is kDeferred (then call start()).
  explicit PeakRssSampler(std::chrono::microseconds interval = kDefaultInterval,
                          StartMode mode = StartMode::kNow);
  ~PeakRssSampler();  // stops and joins; the report is discarded
  PeakRssSampler(const PeakRssSampler&) = delete;
  PeakRssSampler& operator=(const PeakRssSampler&) = delete;

  // Begins a new window (also after a stop()); throws tc::Error if already running
  // or the interval is not positive.
  void start();
  // Ends the window, joins the thread and returns its report. Idempotent: later
  // calls return the same report until the next start(). Before any start() it
  // returns an empty, unreliable report.
  RssReport stop();
  bool running() const { return thread_.joinable(); }

 private:
  void sample_loop();
  void take_sample();  // only the sampler thread (or the owner while it is not running)

  std::chrono::microseconds interval_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;  // guarded by mutex_

  // Written by the sampler thread, read by the owner after join().
  uint64_t peak_bytes_ = 0;
  uint64_t samples_ = 0;
  uint64_t failed_reads_ = 0;

  std::chrono::steady_clock::time_point started_at_;
  uint64_t baseline_bytes_ = 0;
  bool baseline_read_ = false;
  bool hwm_reset_ = false;     // clear_refs accepted: VmHWM covers only this window
  uint64_t hwm_at_start_ = 0;  // VmHWM just after start (after the reset, if any)
  RssReport report_;
  bool have_report_ = false;
};

}  // namespace tc::profile
