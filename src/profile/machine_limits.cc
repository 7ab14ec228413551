#include "profile/machine_limits.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>

#include "core/aligned_buffer.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/isa_region.h"
#include "core/thread_pool.h"
#include "core/timer.h"

namespace tc::profile {

namespace {

// Results of the measurement loops end here, so the compiler must do the work.
std::atomic<uint64_t> g_sink{0};

size_t resolve_threads(size_t threads) {
  if (threads != 0) return threads;
  return std::max<size_t>(1, std::thread::hardware_concurrency());
}

// ---- Streaming read --------------------------------------------------------
// Each pass reads 512 bytes per iteration into four independent XOR chains:
// enough loads in flight to keep the memory system busy, and XOR (unlike a
// sum) cannot be reassociated away or vectorized differently by the compiler.
constexpr size_t kReadStep = 512;

}  // namespace

TC_ISA_AVX512_BEGIN
namespace avx512 {

uint64_t read(const uint8_t* data, size_t bytes) {
  const __m512i* p = reinterpret_cast<const __m512i*>(data);
  __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
  __m512i a2 = _mm512_setzero_si512(), a3 = _mm512_setzero_si512();
  for (size_t i = 0; i < bytes / 64; i += 8) {
    a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 1));
    a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 2));
    a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 3));
    a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i + 4));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 5));
    a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 6));
    a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 7));
  }
  const __m512i all = _mm512_or_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(reinterpret_cast<__m512i*>(lanes), all);
  uint64_t folded = 0;
  for (uint64_t lane : lanes) folded ^= lane;
  return folded;
}

}  // namespace avx512
TC_ISA_END

TC_ISA_AVX2_BEGIN
namespace avx2 {

uint64_t read(const uint8_t* data, size_t bytes) {
  const __m256i* p = reinterpret_cast<const __m256i*>(data);
  __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
  __m256i a2 = _mm256_setzero_si256(), a3 = _mm256_setzero_si256();
  for (size_t i = 0; i < bytes / 32; i += 8) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(p + i));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(p + i + 1));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(p + i + 2));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(p + i + 3));
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(p + i + 4));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(p + i + 5));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(p + i + 6));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(p + i + 7));
  }
  const __m256i all = _mm256_or_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), all);
  return lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
}

}  // namespace avx2
TC_ISA_END

namespace {

uint64_t read_scalar(const uint8_t* data, size_t bytes) {
  const uint64_t* p = reinterpret_cast<const uint64_t*>(data);
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (size_t i = 0; i < bytes / 8; i += 4) {
    a0 ^= p[i];
    a1 ^= p[i + 1];
    a2 ^= p[i + 2];
    a3 ^= p[i + 3];
  }
  return a0 ^ a1 ^ a2 ^ a3;
}

uint64_t read_slice(IsaLevel isa, const uint8_t* data, size_t bytes) {
  switch (isa) {
    case IsaLevel::kAvx512:
      return avx512::read(data, bytes);
    case IsaLevel::kAvx2:
      return avx2::read(data, bytes);
    case IsaLevel::kScalar:
      break;
  }
  return read_scalar(data, bytes);
}

// ---- FMA throughput --------------------------------------------------------
// Independent chains acc = acc * a + b. An FMA has ~4 cycles latency and up to
// two issue per cycle, so at least 8 chains are needed to keep the units full;
// 16 (AVX-512, 32 registers) and 12 (AVX2, 16 registers) leave a margin. Each
// chain starts from a different value so the compiler cannot merge them; with
// a < 1 the values converge instead of overflowing or turning denormal.
constexpr int kChainsAvx512 = 16;
constexpr int kChainsAvx2 = 12;
constexpr int kChainsScalar = 12;

}  // namespace

TC_ISA_AVX512_BEGIN
namespace avx512 {

float fma_chains(int64_t iterations, float a, float b) {
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  __m512 acc[kChainsAvx512];
  for (int k = 0; k < kChainsAvx512; ++k) acc[k] = _mm512_set1_ps(0.001f * static_cast<float>(k));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChainsAvx512; ++k) acc[k] = _mm512_fmadd_ps(acc[k], va, vb);
  }
  __m512 total = acc[0];
  for (int k = 1; k < kChainsAvx512; ++k) total = _mm512_add_ps(total, acc[k]);
  // Not _mm512_reduce_add_ps: GCC 12 warns inside it (-Wuninitialized).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, total);
  float sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

}  // namespace avx512
TC_ISA_END

TC_ISA_AVX2_BEGIN
namespace avx2 {

float fma_chains(int64_t iterations, float a, float b) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  __m256 acc[kChainsAvx2];
  for (int k = 0; k < kChainsAvx2; ++k) acc[k] = _mm256_set1_ps(0.001f * static_cast<float>(k));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kChainsAvx2; ++k) acc[k] = _mm256_fmadd_ps(acc[k], va, vb);
  }
  __m256 total = acc[0];
  for (int k = 1; k < kChainsAvx2; ++k) total = _mm256_add_ps(total, acc[k]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, total);
  float sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

}  // namespace avx2
TC_ISA_END

namespace {

float fma_chains_scalar(int64_t iterations, float a, float b) {
  float acc[kChainsScalar];
  for (int k = 0; k < kChainsScalar; ++k) acc[k] = 0.001f * static_cast<float>(k);
  for (int64_t i = 0; i < iterations; ++i) {
    for (float& value : acc) value = value * a + b;
  }
  float sum = 0;
  for (float value : acc) sum += value;
  return sum;
}

// Flops one iteration of the chosen kernel does (2 per FMA lane).
double flops_per_iteration(IsaLevel isa) {
  switch (isa) {
    case IsaLevel::kAvx512:
      return 2.0 * kChainsAvx512 * 16;
    case IsaLevel::kAvx2:
      return 2.0 * kChainsAvx2 * 8;
    case IsaLevel::kScalar:
      break;
  }
  return 2.0 * kChainsScalar;
}

float fma_chains(IsaLevel isa, int64_t iterations, float a, float b) {
  switch (isa) {
    case IsaLevel::kAvx512:
      return avx512::fma_chains(iterations, a, b);
    case IsaLevel::kAvx2:
      return avx2::fma_chains(iterations, a, b);
    case IsaLevel::kScalar:
      break;
  }
  return fma_chains_scalar(iterations, a, b);
}

}  // namespace

RateSamples summarize_rates(std::vector<double> samples) {
  if (samples.empty()) fail("no rate samples to summarize");
  RateSamples result;
  result.samples = samples;
  std::sort(samples.begin(), samples.end());
  result.best = samples.back();
  const size_t middle = samples.size() / 2;
  result.median =
      samples.size() % 2 == 1 ? samples[middle] : 0.5 * (samples[middle - 1] + samples[middle]);
  return result;
}

std::string machine_limits_isa() {
  switch (isa_level()) {
    case IsaLevel::kAvx512:
      return "avx512f";
    case IsaLevel::kAvx2:
      return "avx2+fma";
    case IsaLevel::kScalar:
      break;
  }
  return "scalar";
}

struct ReadBandwidthProbe::State {
  State(size_t thread_count, size_t slice_bytes)
      : threads(thread_count),
        slice(slice_bytes),
        buffer(slice_bytes * thread_count, Placement::kHugePages),
        isa(isa_level()),
        pool(thread_count),
        results(thread_count) {}
  size_t threads;
  size_t slice;  // bytes each thread reads, one contiguous part of the buffer
  // Allocated like the weights (in huge pages) and touched once
  // (zeroed) before the first pass, so no page faults are timed.
  AlignedBuffer<uint8_t> buffer;
  IsaLevel isa;
  // Started once: thread creation is not part of any timed pass.
  ThreadPool pool;
  std::vector<uint64_t> results;
};

namespace {

size_t probe_slice(size_t threads, size_t bytes) {
  // Every thread reads one contiguous slice, a whole number of steps long.
  const size_t slice = bytes / threads / kReadStep * kReadStep;
  if (slice == 0) {
    fail("read bandwidth: {} bytes is too small for {} threads (at least {} bytes each)", bytes,
         threads, kReadStep);
  }
  return slice;
}

}  // namespace

ReadBandwidthProbe::ReadBandwidthProbe(size_t threads, size_t bytes) {
  threads = resolve_threads(threads);
  state_ = std::make_unique<State>(threads, probe_slice(threads, bytes));
}

ReadBandwidthProbe::~ReadBandwidthProbe() = default;

size_t ReadBandwidthProbe::threads() const { return state_->threads; }
size_t ReadBandwidthProbe::bytes() const { return state_->slice * state_->threads; }

RateSamples ReadBandwidthProbe::measure(int repeats) {
  if (repeats < 1) fail("read bandwidth: repeats must be at least 1 (got {})", repeats);
  State& s = *state_;
  const auto pass = [&] {
    Stopwatch clock;
    s.pool.parallel_for(s.threads, 1, [&](size_t begin, size_t end) {
      for (size_t t = begin; t < end; ++t)
        s.results[t] = read_slice(s.isa, s.buffer.data() + t * s.slice, s.slice);
    });
    const double seconds = clock.seconds();
    for (uint64_t value : s.results) g_sink.fetch_xor(value, std::memory_order_relaxed);
    return static_cast<double>(s.slice * s.threads) / seconds / 1e9;
  };
  pass();  // warm-up: wakes the workers, settles the clocks
  std::vector<double> samples;
  for (int r = 0; r < repeats; ++r) samples.push_back(pass());
  return summarize_rates(std::move(samples));
}

RateSamples measure_read_bandwidth(size_t threads, size_t bytes, int repeats) {
  // Checked here too so a bad count fails before the buffer is allocated.
  if (repeats < 1) fail("read bandwidth: repeats must be at least 1 (got {})", repeats);
  return ReadBandwidthProbe(threads, bytes).measure(repeats);
}

double measure_read_bandwidth_gbs(size_t threads, size_t bytes) {
  return measure_read_bandwidth(threads, bytes).best;
}

RateSamples measure_fma_peak(size_t threads, int repeats, double seconds_per_repeat) {
  threads = resolve_threads(threads);
  if (repeats < 1) fail("fma peak: repeats must be at least 1 (got {})", repeats);
  const IsaLevel isa = isa_level();
  // Read at run time so the chains cannot be evaluated at compile time.
  static volatile float multiplier = 0.999999f;
  static volatile float addend = 1e-3f;
  const float a = multiplier, b = addend;

  // Size the loop from a short single-thread run for ~seconds_per_repeat.
  constexpr int64_t kProbe = int64_t{1} << 16;
  Stopwatch probe;
  g_sink.fetch_add(static_cast<uint64_t>(fma_chains(isa, kProbe, a, b)), std::memory_order_relaxed);
  const double probe_seconds = std::max(probe.seconds(), 1e-6);
  const auto iterations = std::max<int64_t>(
      kProbe,
      static_cast<int64_t>(seconds_per_repeat / probe_seconds * static_cast<double>(kProbe)));

  ThreadPool pool(threads);
  std::vector<float> results(threads);
  const auto run = [&](int64_t count) {
    Stopwatch clock;
    pool.parallel_for(threads, 1, [&](size_t begin, size_t end) {
      for (size_t t = begin; t < end; ++t) results[t] = fma_chains(isa, count, a, b);
    });
    const double seconds = clock.seconds();
    for (float value : results) {
      g_sink.fetch_add(static_cast<uint64_t>(value), std::memory_order_relaxed);
    }
    return static_cast<double>(threads) * static_cast<double>(count) * flops_per_iteration(isa) /
           seconds / 1e9;
  };
  run(iterations / 4);  // warm-up: wakes the workers and lets the clocks ramp
  std::vector<double> samples;
  for (int r = 0; r < repeats; ++r) samples.push_back(run(iterations));
  return summarize_rates(std::move(samples));
}

double measure_fma_peak_gflops(size_t threads) { return measure_fma_peak(threads).best; }

MachineLimits measure_machine_limits(size_t threads, size_t bandwidth_bytes) {
  MachineLimits limits;
  limits.threads = resolve_threads(threads);
  limits.isa = machine_limits_isa();
  limits.bandwidth_bytes = bandwidth_bytes;
  limits.read_bandwidth = measure_read_bandwidth(limits.threads, bandwidth_bytes);
  limits.fma_peak = measure_fma_peak(limits.threads);
  limits.read_bandwidth_gbs = limits.read_bandwidth.best;
  limits.fma_peak_gflops = limits.fma_peak.best;
  return limits;
}

RateSamples combine(const RateSamples& a, const RateSamples& b) {
  std::vector<double> samples = a.samples;
  samples.insert(samples.end(), b.samples.begin(), b.samples.end());
  if (samples.empty()) return {};
  return summarize_rates(std::move(samples));
}

MachineLimits combine(const MachineLimits& a, const MachineLimits& b) {
  if (a.threads != b.threads || a.bandwidth_bytes != b.bandwidth_bytes) {
    fail("machine limits measured with {} and {} threads ({} and {} bytes) cannot be combined",
         a.threads, b.threads, a.bandwidth_bytes, b.bandwidth_bytes);
  }
  MachineLimits limits = a;
  limits.read_bandwidth = combine(a.read_bandwidth, b.read_bandwidth);
  limits.fma_peak = combine(a.fma_peak, b.fma_peak);
  limits.read_bandwidth_gbs = limits.read_bandwidth.best;
  limits.fma_peak_gflops = limits.fma_peak.best;
  return limits;
}

}  // namespace tc::profile
