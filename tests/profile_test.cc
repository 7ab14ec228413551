// Tests of src/profile: the peak-RSS sampler and the hardware snapshot.
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/cpu_features.h"
#include "core/error.h"
#include "kernels/cpu/dot.h"
#include "profile/hardware.h"
#include "profile/rss_sampler.h"
#include "test_paths.h"

namespace tc::profile {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr uint64_t kMiB = 1024 * 1024;

// Allocates `bytes` and writes every page, so the memory is resident (an
// untouched allocation is only reserved address space).
std::vector<char> touched_block(size_t bytes) {
  std::vector<char> block(bytes);
  for (size_t i = 0; i < bytes; i += 4096) block[i] = static_cast<char>(i);
  // Keep the writes: the compiler may not assume the block is unused.
  asm volatile("" : : "r"(block.data()) : "memory");
  return block;
}

// ---------------------------------------------------------------- RSS --

TEST(RssReaders, ReadThisProcess) {
  const auto rss = current_rss_bytes();
  const auto hwm = kernel_peak_rss_bytes();
  ASSERT_TRUE(rss.has_value());
  ASSERT_TRUE(hwm.has_value());
  EXPECT_GT(*rss, 0u);
  EXPECT_GT(*hwm, 0u);
}

TEST(PeakRssSampler, SeesA200MiBAllocation) {
  PeakRssSampler sampler;  // 5 ms default
  EXPECT_TRUE(sampler.running());
  {
    std::vector<char> block = touched_block(200 * kMiB);
    std::this_thread::sleep_for(200ms);  // ~40 samples while it is resident
  }
  const RssReport report = sampler.stop();
  EXPECT_FALSE(sampler.running());
  EXPECT_GE(report.peak_bytes, report.baseline_bytes + 190 * kMiB)
      << "baseline " << report.baseline_bytes << " peak " << report.peak_bytes;
  EXPECT_GE(report.samples, PeakRssSampler::kMinReliableSamples);
  EXPECT_DOUBLE_EQ(report.interval_ms, 5.0);
  EXPECT_GE(report.duration_s, 0.2);
  EXPECT_GE(report.kernel_peak_bytes, report.baseline_bytes + 190 * kMiB);
  EXPECT_TRUE(report.reliable) << report.note;
}

TEST(PeakRssSampler, StopIsIdempotent) {
  PeakRssSampler sampler(1ms);
  std::this_thread::sleep_for(30ms);
  const RssReport first = sampler.stop();
  const RssReport second = sampler.stop();
  EXPECT_GT(first.samples, 0u);
  EXPECT_EQ(first.samples, second.samples);
  EXPECT_EQ(first.peak_bytes, second.peak_bytes);
  EXPECT_EQ(first.baseline_bytes, second.baseline_bytes);
  EXPECT_EQ(first.duration_s, second.duration_s);
  EXPECT_EQ(first.note, second.note);
}

TEST(PeakRssSampler, RestartsAfterStopAndRefusesDoubleStart) {
  PeakRssSampler sampler(1ms);
  EXPECT_THROW(sampler.start(), tc::Error);
  const RssReport first = sampler.stop();
  sampler.start();
  EXPECT_TRUE(sampler.running());
  std::this_thread::sleep_for(20ms);
  const RssReport second = sampler.stop();
  EXPECT_GT(second.samples, 0u);
  EXPECT_GT(first.samples, 0u);
}

TEST(PeakRssSampler, DeferredStartAndNeverStarted) {
  PeakRssSampler sampler(5ms, PeakRssSampler::StartMode::kDeferred);
  EXPECT_FALSE(sampler.running());
  const RssReport report = sampler.stop();
  EXPECT_FALSE(report.reliable);
  EXPECT_EQ(report.samples, 0u);
  EXPECT_NE(report.note.find("never started"), std::string::npos);
}

TEST(PeakRssSampler, RejectsNonPositiveInterval) {
  EXPECT_THROW(PeakRssSampler sampler(0ms), tc::Error);
}

TEST(PeakRssSampler, DestructorStopsARunningSampler) {
  const auto before = std::chrono::steady_clock::now();
  { PeakRssSampler sampler(std::chrono::seconds(60)); }
  // The destructor wakes the thread rather than waiting out the interval.
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
}

TEST(PeakRssSampler, ShortWindowIsUnreliableAndMissedSpikeIsFlagged) {
  // An interval far longer than the window: only the baseline and the final
  // reading are taken, and a spike between them is invisible to the sampler.
  PeakRssSampler sampler(std::chrono::seconds(60));
  {
    // Mapped and unmapped directly, so the pages go back to the OS at once
    // whatever the allocator does (AddressSanitizer keeps freed blocks).
    void* spike =
        mmap(nullptr, 100 * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(spike, MAP_FAILED);
    std::memset(spike, 1, 100 * kMiB);
    munmap(spike, 100 * kMiB);
  }
  const auto before = std::chrono::steady_clock::now();
  const RssReport report = sampler.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_EQ(report.samples, 2u);
  EXPECT_FALSE(report.reliable);
  EXPECT_NE(report.note.find("only 2 samples"), std::string::npos) << report.note;
  if (report.note.find("clear_refs refused") == std::string::npos) {
    // VmHWM was reset at start, so it saw the spike the samples missed.
    EXPECT_GE(report.kernel_peak_bytes, report.peak_bytes + 90 * kMiB);
    EXPECT_NE(report.note.find("fell between samples"), std::string::npos) << report.note;
  }
}

// ----------------------------------------------------------- snapshot --

// JSON pointers of the leaves of `value` (arrays count as leaves).
void collect_leaves(const json& value, const std::string& pointer, std::set<std::string>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) collect_leaves(child, pointer + "/" + key, out);
  } else {
    out.insert(pointer);
  }
}

class HardwareSnapshot : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { snapshot_ = new json(hardware_snapshot()); }
  static void TearDownTestSuite() {
    delete snapshot_;
    snapshot_ = nullptr;
  }
  static const json& snapshot() { return *snapshot_; }
  static const json& at(const std::string& pointer) {
    return snapshot().at(json::json_pointer(pointer));
  }

 private:
  static json* snapshot_;
};
json* HardwareSnapshot::snapshot_ = nullptr;

TEST_F(HardwareSnapshot, HasExactlyTheDeclaredFields) {
  const std::vector<std::string>& fields = hardware_snapshot_fields();
  for (const std::string& field : fields) {
    EXPECT_TRUE(snapshot().contains(json::json_pointer(field))) << field;
  }
  std::set<std::string> leaves;
  collect_leaves(snapshot(), "", leaves);
  const std::set<std::string> declared(fields.begin(), fields.end());
  EXPECT_EQ(declared.size(), fields.size()) << "duplicate field";
  for (const std::string& leaf : leaves) EXPECT_TRUE(declared.count(leaf) != 0) << leaf;
  EXPECT_EQ(leaves.size(), declared.size());
  EXPECT_NO_THROW((void)snapshot().dump());  // valid UTF-8 throughout
}

TEST_F(HardwareSnapshot, CpuAndMemory) {
  EXPECT_GT(at("/cpu/logical_cpus").get<uint64_t>(), 0u);
  EXPECT_GT(at("/cpu/affinity_cpus").get<uint64_t>(), 0u);
  EXPECT_LE(at("/cpu/affinity_cpus").get<uint64_t>(), at("/cpu/logical_cpus").get<uint64_t>());
  if (!at("/cpu/physical_cores").is_null()) {
    EXPECT_GT(at("/cpu/physical_cores").get<uint64_t>(), 0u);
  }
  EXPECT_FALSE(at("/cpu/model_name").get<std::string>().empty());
  EXPECT_GT(at("/memory/total_bytes").get<uint64_t>(), 0u);
  EXPECT_EQ(at("/cpu/kernel_isa").get<std::string>(),
            tc::cpu_has_avx512_vnni() ? "avx512f+bw+vl+fma+f16c+vnni"
            : tc::cpu_has_avx512()    ? "avx512f+bw+vl+fma+f16c"
                                      : std::string(tc::kernels::dot_kernels().isa));
  for (const std::string& flag : tracked_isa_flags()) {
    const json& value = at("/cpu/isa_flags/" + flag);
    EXPECT_TRUE(value.is_boolean() || value.is_null()) << flag;
  }
#if defined(__x86_64__)
  EXPECT_TRUE(at("/cpu/isa_flags/avx").is_boolean());
  // The kernels pick AVX2 only where the CPU has it.
  if (at("/cpu/kernel_isa").get<std::string>().find("avx2") != std::string::npos) {
    EXPECT_TRUE(at("/cpu/isa_flags/avx2").get<bool>());
    EXPECT_TRUE(at("/cpu/isa_flags/fma").get<bool>());
  }
#endif
}

TEST_F(HardwareSnapshot, BuildAndVersions) {
  EXPECT_FALSE(at("/build/git_revision").get<std::string>().empty());
  EXPECT_NE(at("/build/compiler_id").get<std::string>(), "unknown");
  EXPECT_FALSE(at("/build/compiler_version").get<std::string>().empty());
  EXPECT_FALSE(at("/build/compiler_full").get<std::string>().empty());
  EXPECT_GE(at("/build/cplusplus").get<long>(), 202002L);
  EXPECT_FALSE(at("/build/build_type").get<std::string>().empty());
  EXPECT_NE(at("/build/cxx_flags").get<std::string>(), "unknown");
  for (const char* name : {"nlohmann_json", "fmt", "pcre2", "utf8proc", "glibc", "cxx_stdlib"}) {
    const json& compiled = at(std::string("/libraries/") + name + "/compiled");
    ASSERT_TRUE(compiled.is_string()) << name;
    EXPECT_NE(compiled.get<std::string>(), "unknown") << name;
  }
  // Run-time versions come from the loaded shared libraries.
  EXPECT_EQ(at("/libraries/pcre2/runtime")
                .get<std::string>()
                .rfind(at("/libraries/pcre2/compiled").get<std::string>(), 0),
            0u);
  EXPECT_FALSE(at("/libraries/utf8proc/runtime").get<std::string>().empty());
  EXPECT_FALSE(at("/libraries/glibc/runtime").get<std::string>().empty());
}

TEST_F(HardwareSnapshot, OsGpuAndTimestamp) {
  EXPECT_NE(at("/os/kernel_name").get<std::string>(), "unknown");
  EXPECT_FALSE(at("/hostname").get<std::string>().empty());
  EXPECT_TRUE(std::regex_match(at("/timestamp_utc").get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  EXPECT_TRUE(at("/gpu/present").is_boolean());
  EXPECT_TRUE(at("/gpu/devices").is_array());
  if (!at("/gpu/devices").empty()) {
    EXPECT_TRUE(at("/gpu/present").get<bool>());
    EXPECT_TRUE(at("/gpu/devices/0/name").is_string());
  }
}

// A stand-in nvidia-smi first on PATH: the snapshot lists what it prints, so
// the parsing is checked on machines without a GPU too.
TEST(HardwareSnapshotGpu, ListsDevicesFromNvidiaSmi) {
  const std::string dir = test::make_temp_dir();
  const std::string fake = dir + "/nvidia-smi";
  {
    std::ofstream script(fake);
    script << "#!/bin/sh\n"
              "echo 'NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB'\n"
              "echo 'NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB'\n";
  }
  ASSERT_EQ(::chmod(fake.c_str(), 0755), 0);
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path != nullptr ? old_path : "";
  ::setenv("PATH", (dir + ":" + saved).c_str(), 1);
  const json snapshot = hardware_snapshot();
  ::setenv("PATH", saved.c_str(), 1);
  std::filesystem::remove_all(dir);

  const json& gpu = snapshot.at("gpu");
  EXPECT_TRUE(gpu.at("present").get<bool>());
  ASSERT_EQ(gpu.at("devices").size(), 2u);
  EXPECT_EQ(gpu.at("devices")[0].at("name"), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpu.at("devices")[0].at("driver_version"), "550.54.15");
  EXPECT_EQ(gpu.at("devices")[1].at("memory_total"), "81559 MiB");
  if (gpu.at("nvidia_proc_version").is_null()) {
    EXPECT_EQ(gpu.at("driver_version"), "550.54.15");
  }
}

// ------------------------------------------------------- command line --

std::pair<int, std::string> run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  std::string output;
  std::array<char, 4096> buffer;
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    output.append(buffer.data(), got);
  }
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(InfoCli, PrintsTheSnapshotAsJson) {
  const auto [status, output] = run_command("'" + test::tinycompress_bin() + "' info --json");
  ASSERT_EQ(status, 0) << output;
  const json parsed = json::parse(output);
  for (const std::string& field : hardware_snapshot_fields()) {
    EXPECT_TRUE(parsed.contains(json::json_pointer(field))) << field;
  }
}

TEST(InfoCli, PrintsAnAlignedListing) {
  const auto [status, output] = run_command("'" + test::tinycompress_bin() + "' info");
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("cpu.model_name"), std::string::npos) << output;
  EXPECT_NE(output.find("libraries.fmt"), std::string::npos) << output;
  EXPECT_NE(output.find("build.git_revision"), std::string::npos) << output;
}

}  // namespace
}  // namespace tc::profile
