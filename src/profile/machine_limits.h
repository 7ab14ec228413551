// What this machine can deliver at most: streaming read bandwidth from memory
// and fp32 FMA throughput. `tinycompress bench` divides a model's decode
// bandwidth and prefill FLOP rate by these, so "how fast" becomes "how close
// to the roofline".
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace tc::profile {

inline constexpr size_t kDefaultBandwidthBytes = size_t{1} << 30;  // 1 GiB: far beyond any LLC

// Samples of one measurement; rates in GB/s (1e9 bytes) or GFLOP/s.
struct RateSamples {
  std::vector<double> samples;  // one per timed repeat (warm-up excluded)
  double best = 0;              // the maximum: the least disturbed repeat
  double median = 0;
};

// The samples, their best (the maximum) and their median (the mean of the
// middle two for an even count). Fails on no samples.
RateSamples summarize_rates(std::vector<double> samples);

// Multi-threaded streaming read of a `bytes`-long buffer allocated like the
// model weights (in transparent huge pages), with wide vector
// loads. The buffer and the reading threads are set up once, so the probe
// can be measured again and again (bench measures it between parts of a
// decode) without allocating or touching a gigabyte each time.
class ReadBandwidthProbe {
 public:
  // threads 0 = one per hardware thread.
  ReadBandwidthProbe(size_t threads, size_t bytes);
  ~ReadBandwidthProbe();
  ReadBandwidthProbe(const ReadBandwidthProbe&) = delete;
  ReadBandwidthProbe& operator=(const ReadBandwidthProbe&) = delete;

  // One warm-up pass, then `repeats` timed passes.
  RateSamples measure(int repeats);
  size_t threads() const;
  size_t bytes() const;  // read per pass (a whole number of steps per thread)

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A ReadBandwidthProbe measured once.
RateSamples measure_read_bandwidth(size_t threads, size_t bytes = kDefaultBandwidthBytes,
                                   int repeats = 7);
// The best of measure_read_bandwidth, GB/s.
double measure_read_bandwidth_gbs(size_t threads, size_t bytes = kDefaultBandwidthBytes);

// fp32 FMA throughput: every thread runs independent vector FMA chains for
// about `seconds_per_repeat`; 2 flops per FMA lane. threads 0 = all.
RateSamples measure_fma_peak(size_t threads, int repeats = 3, double seconds_per_repeat = 0.2);
// The best of measure_fma_peak, GFLOP/s.
double measure_fma_peak_gflops(size_t threads);

// The vector ISA both measurements use on this CPU: "avx512f", "avx2+fma" or "scalar".
std::string machine_limits_isa();

struct MachineLimits {
  double read_bandwidth_gbs = 0;  // best
  double fma_peak_gflops = 0;     // best
  size_t threads = 0;             // as run (0 resolved to the hardware thread count)
  std::string isa;
  RateSamples read_bandwidth;
  RateSamples fma_peak;
  size_t bandwidth_bytes = 0;  // size of the buffer read
};

MachineLimits measure_machine_limits(size_t threads,
                                     size_t bandwidth_bytes = kDefaultBandwidthBytes);

// Both sets of samples as one: the best of either, the median of all. On a
// shared machine a neighbour can hold a core through a whole measurement, so
// measuring twice, apart in time, and keeping the best is more robust.
RateSamples combine(const RateSamples& a, const RateSamples& b);
MachineLimits combine(const MachineLimits& a, const MachineLimits& b);

}  // namespace tc::profile
