#include "profile/rss_sampler.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace tc::profile {

namespace {

uint64_t page_size() {
  static const uint64_t size = [] {
    const long value = sysconf(_SC_PAGESIZE);
    return value > 0 ? static_cast<uint64_t>(value) : uint64_t{4096};
  }();
  return size;
}

// statm is "size resident shared text lib data dt", all in pages.
std::optional<uint64_t> parse_statm_resident(const char* text) {
  unsigned long long size = 0;
  unsigned long long resident = 0;
  if (std::sscanf(text, "%llu %llu", &size, &resident) != 2) return std::nullopt;
  return static_cast<uint64_t>(resident) * page_size();
}

// Keeps /proc/self/statm open so a sample is one pread, not open+read+close:
// the sampler runs every few milliseconds for the whole cell. A read at offset
// 0 makes the kernel regenerate the contents.
class StatmReader {
 public:
  StatmReader() : fd_(::open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) {}
  ~StatmReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  StatmReader(const StatmReader&) = delete;
  StatmReader& operator=(const StatmReader&) = delete;

  std::optional<uint64_t> read() const {
    if (fd_ < 0) return std::nullopt;
    char buffer[256];
    const ssize_t got = ::pread(fd_, buffer, sizeof(buffer) - 1, 0);
    if (got <= 0) return std::nullopt;
    buffer[got] = '\0';
    return parse_statm_resident(buffer);
  }

 private:
  int fd_;
};

// Asks the kernel to restart VmHWM from the current RSS (Linux >= 4.0), so it
// measures this window only. Not permitted everywhere (old kernels, sandboxes).
bool reset_kernel_peak() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, "5", 1) == 1;
  ::close(fd);
  return ok;
}

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0)); }

}  // namespace

std::optional<uint64_t> current_rss_bytes() { return StatmReader().read(); }

std::optional<uint64_t> kernel_peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str() + 6, "%llu", &kib) != 1) return std::nullopt;
    return static_cast<uint64_t>(kib) * 1024;
  }
  return std::nullopt;
}

PeakRssSampler::PeakRssSampler(std::chrono::microseconds interval, StartMode mode)
    : interval_(interval) {
  if (mode == StartMode::kNow) start();
}

PeakRssSampler::~PeakRssSampler() {
  try {
    stop();
  } catch (...) {
    // A destructor must not throw; the report is being discarded anyway.
  }
}

void PeakRssSampler::start() {
  if (running()) fail("PeakRssSampler::start: already running (call stop() first)");
  if (interval_.count() <= 0) {
    fail("PeakRssSampler: interval must be positive (got {} us)", interval_.count());
  }
  peak_bytes_ = 0;
  samples_ = 0;
  failed_reads_ = 0;
  have_report_ = false;
  report_ = RssReport{};
  stop_requested_ = false;

  hwm_reset_ = reset_kernel_peak();
  const std::optional<uint64_t> baseline = current_rss_bytes();
  baseline_read_ = baseline.has_value();
  baseline_bytes_ = baseline.value_or(0);
  if (baseline_read_) {
    peak_bytes_ = baseline_bytes_;
    samples_ = 1;
  } else {
    ++failed_reads_;
  }
  hwm_at_start_ = kernel_peak_rss_bytes().value_or(0);
  started_at_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { sample_loop(); });
}

void PeakRssSampler::sample_loop() {
  const StatmReader reader;
  auto next = std::chrono::steady_clock::now() + interval_;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_until(lock, next, [this] { return stop_requested_; })) {
    lock.unlock();
    const std::optional<uint64_t> rss = reader.read();
    if (rss) {
      ++samples_;
      peak_bytes_ = std::max(peak_bytes_, *rss);
    } else {
      ++failed_reads_;
    }
    lock.lock();
    next += interval_;
    // Descheduled for longer than an interval: resume the rhythm from now
    // rather than firing a burst of back-to-back samples to catch up.
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + interval_;
  }
}

RssReport PeakRssSampler::stop() {
  if (!running()) {
    if (have_report_) return report_;
    RssReport never;
    never.interval_ms = interval_.count() / 1e3;
    never.reliable = false;
    never.note = "sampler was never started";
    return never;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
  thread_.join();

  // A last reading, so even a window shorter than one interval sees its end.
  if (const std::optional<uint64_t> rss = current_rss_bytes()) {
    ++samples_;
    peak_bytes_ = std::max(peak_bytes_, *rss);
  } else {
    ++failed_reads_;
  }
  const double duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
  const std::optional<uint64_t> kernel_peak = kernel_peak_rss_bytes();

  RssReport report;
  report.baseline_bytes = baseline_bytes_;
  report.peak_bytes = peak_bytes_;
  report.samples = samples_;
  report.interval_ms = interval_.count() / 1e3;
  report.duration_s = duration_s;
  report.kernel_peak_bytes = kernel_peak.value_or(0);

  std::vector<std::string> notes;
  auto unreliable = [&](std::string why) {
    report.reliable = false;
    notes.push_back(std::move(why));
  };
  if (samples_ == 0) {
    unreliable("cannot read /proc/self/statm: no RSS samples");
  } else if (failed_reads_ > 0) {
    unreliable(fmt::format("{} of {} reads of /proc/self/statm failed", failed_reads_,
                           failed_reads_ + samples_));
  }
  if (samples_ > 0 && samples_ < kMinReliableSamples) {
    unreliable(fmt::format("only {} samples in {:.1f} ms at a {:.1f} ms interval", samples_,
                           duration_s * 1e3, report.interval_ms));
  }
  if (!kernel_peak) {
    notes.push_back("VmHWM unreadable: no kernel cross-check");
  } else if (hwm_reset_ || *kernel_peak > hwm_at_start_) {
    // VmHWM covers this window: after a reset it started from the baseline;
    // without one, having risen since start means its maximum lies inside it.
    const double limit = static_cast<double>(peak_bytes_) * (1.0 + kMaxKernelPeakExcess);
    if (samples_ > 0 && static_cast<double>(*kernel_peak) > limit) {
      unreliable(fmt::format(
          "kernel VmHWM {} exceeds sampled peak {} by {:.0f}%: a spike fell between samples",
          mib(*kernel_peak), mib(peak_bytes_),
          (static_cast<double>(*kernel_peak) / static_cast<double>(peak_bytes_) - 1.0) * 100.0));
    }
  } else {
    notes.push_back(
        "VmHWM predates this window (/proc/self/clear_refs refused): no kernel cross-check");
  }
  report.note = fmt::format("{}", fmt::join(notes, "; "));

  report_ = report;
  have_report_ = true;
  return report;
}

}  // namespace tc::profile
