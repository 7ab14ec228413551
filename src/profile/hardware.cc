#include "profile/hardware.h"

#include <gnu/libc-version.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <nlohmann/json.hpp>

// Header-only or not linked into tc: the version of the header on the include
// path at build time (the one the command line and harness compile against).
#if __has_include(<CLI/Version.hpp>)
#include <CLI/Version.hpp>
#endif
#if __has_include(<toml++/impl/version.h>)
#include <toml++/impl/version.h>
#endif

#include "core/cpu_features.h"
#include "git_revision.h"  // generated at every build: TC_GIT_REVISION
#include "kernels/cpu/dot.h"

// Set on this file only by src/profile/CMakeLists.txt, so a flag change
// recompiles one file rather than the whole library.
#ifndef TC_BUILD_TYPE
#define TC_BUILD_TYPE "unknown"
#endif
#ifndef TC_CXX_FLAGS
#define TC_CXX_FLAGS "unknown"
#endif

namespace tc::profile {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return text;
}

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::optional<std::string> read_trimmed(const std::string& path) {
  std::optional<std::string> text = read_text(path);
  if (!text) return std::nullopt;
  return trim(*text);
}

std::optional<uint64_t> parse_u64(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  try {
    return static_cast<uint64_t>(std::stoull(text));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

template <typename T>
json or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

// "key<TAB>: value" lines of /proc/cpuinfo, first processor only, plus the
// (physical id, core id) pairs of every processor.
struct CpuInfo {
  std::optional<std::string> model_name;
  std::optional<std::string> vendor;
  std::optional<std::string> flags;
  std::set<std::pair<std::string, std::string>> package_core_pairs;
  std::set<std::string> packages;
};

CpuInfo read_cpuinfo() {
  CpuInfo info;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::string physical_id;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "model name" && !info.model_name) info.model_name = value;
    if (key == "vendor_id" && !info.vendor) info.vendor = value;
    // x86 says "flags", arm64 says "Features".
    if ((key == "flags" || key == "Features") && !info.flags) info.flags = value;
    if (key == "physical id") {
      physical_id = value;
      info.packages.insert(value);
    }
    if (key == "core id") info.package_core_pairs.emplace(physical_id, value);
  }
  return info;
}

struct Topology {
  std::optional<uint64_t> physical_cores;
  std::optional<uint64_t> sockets;
};

// Distinct (package, core) pairs over the online CPUs in sysfs; /proc/cpuinfo
// when sysfs has no topology (some containers and VMs).
Topology read_topology(const CpuInfo& cpuinfo) {
  std::set<std::pair<std::string, std::string>> cores;
  std::set<std::string> packages;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/sys/devices/system/cpu", error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 4 || name.compare(0, 3, "cpu") != 0 ||
        !std::all_of(name.begin() + 3, name.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      continue;
    }
    const auto package = read_trimmed(entry.path().string() + "/topology/physical_package_id");
    const auto core = read_trimmed(entry.path().string() + "/topology/core_id");
    if (!package || !core) continue;  // offline CPUs have no topology
    cores.emplace(*package, *core);
    packages.insert(*package);
  }
  Topology topology;
  if (!cores.empty()) {
    topology.physical_cores = cores.size();
    topology.sockets = packages.size();
  } else if (!cpuinfo.package_core_pairs.empty()) {
    topology.physical_cores = cpuinfo.package_core_pairs.size();
    topology.sockets = cpuinfo.packages.size();
  }
  return topology;
}

// "48K" -> 49152.
std::optional<uint64_t> parse_cache_size(const std::string& text) {
  const std::optional<uint64_t> number = parse_u64(text);
  if (!number) return std::nullopt;
  switch (text.back()) {
    case 'K':
      return *number << 10;
    case 'M':
      return *number << 20;
    case 'G':
      return *number << 30;
    default:
      return number;
  }
}

// Sizes as cpu0 sees them: L1/L2 per core, L3 per cache instance (shared by
// the cores in its shared_cpu_list), not summed over the machine.
json read_caches() {
  json caches = {
      {"l1d_bytes", nullptr}, {"l1i_bytes", nullptr}, {"l2_bytes", nullptr}, {"l3_bytes", nullptr}};
  for (int index = 0; index < 16; ++index) {
    const std::string dir = fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}", index);
    const auto level = read_trimmed(dir + "/level");
    const auto type = read_trimmed(dir + "/type");
    const auto size_text = read_trimmed(dir + "/size");
    if (!level || !type || !size_text) {
      if (!fs::exists(dir)) break;
      continue;
    }
    const std::optional<uint64_t> size = parse_cache_size(*size_text);
    if (!size) continue;
    std::string key;
    if (*level == "1" && *type == "Data") key = "l1d_bytes";
    if (*level == "1" && *type == "Instruction") key = "l1i_bytes";
    if (*level == "2" && *type != "Instruction") key = "l2_bytes";
    if (*level == "3" && *type != "Instruction") key = "l3_bytes";
    if (!key.empty()) caches[key] = *size;
  }
  return caches;
}

json read_isa_flags(const CpuInfo& cpuinfo) {
  std::set<std::string> present;
  if (cpuinfo.flags) {
    std::istringstream words(*cpuinfo.flags);
    std::string word;
    while (words >> word) present.insert(word);
  }
  json flags = json::object();
  for (const std::string& flag : tracked_isa_flags()) {
    flags[flag] = cpuinfo.flags ? json(present.count(flag) != 0) : json(nullptr);
  }
  return flags;
}

std::optional<uint64_t> affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return std::nullopt;
  return static_cast<uint64_t>(CPU_COUNT(&set));
}

std::optional<bool> hypervisor(const CpuInfo& cpuinfo) {
  if (!cpuinfo.flags) return std::nullopt;
  return (" " + *cpuinfo.flags + " ").find(" hypervisor ") != std::string::npos;
}

json cpu_section() {
  const CpuInfo cpuinfo = read_cpuinfo();
  const Topology topology = read_topology(cpuinfo);
  const unsigned logical = std::thread::hardware_concurrency();
  return {
      {"model_name", cpuinfo.model_name.value_or("unknown")},
      {"vendor", cpuinfo.vendor.value_or("unknown")},
      {"logical_cpus", logical > 0 ? json(logical) : json(nullptr)},
      {"affinity_cpus", or_null(affinity_cpus())},
      {"physical_cores", or_null(topology.physical_cores)},
      {"sockets", or_null(topology.sockets)},
      {"caches", read_caches()},
      {"isa_flags", read_isa_flags(cpuinfo)},
      // Where the CPU has AVX-512, decode (one token) runs the AVX-512 GEMV
      // kernels (int4 and int8 on VNNI integer dot products where it has
      // VNNI) and prefill the GEMM family of gemm_packed.h; otherwise both run the dot
      // kernels named here (AVX2 or scalar).
      {"kernel_isa", tc::cpu_has_avx512_vnni() ? "avx512f+bw+vl+fma+f16c+vnni"
                     : tc::cpu_has_avx512()    ? "avx512f+bw+vl+fma+f16c"
                                               : tc::kernels::dot_kernels().isa},
      {"prefill_gemm_isa",
       tc::cpu_has_avx512() ? "avx512f+bw+vl+fma+f16c" : tc::kernels::dot_kernels().isa},
      {"hypervisor", or_null(hypervisor(cpuinfo))},
      {"scaling_governor",
       or_null(read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"))},
  };
}

std::optional<uint64_t> meminfo_bytes(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    const std::optional<uint64_t> kib = parse_u64(trim(line.substr(key.size() + 1)));
    if (!kib) return std::nullopt;
    return *kib * 1024;
  }
  return std::nullopt;
}

// The tightest memory limit on this process's cgroup or its ancestors (v2
// memory.max, v1 memory.limit_in_bytes); nullopt when there is none. A limit
// smaller than MemTotal is what actually bounds the peak RSS of a cell.
std::optional<uint64_t> cgroup_memory_limit() {
  const std::optional<std::string> cgroups = read_text("/proc/self/cgroup");
  if (!cgroups) return std::nullopt;
  std::optional<uint64_t> tightest;
  auto consider = [&](const std::string& file) {
    const std::optional<std::string> text = read_trimmed(file);
    if (!text) return;
    const std::optional<uint64_t> limit = parse_u64(*text);
    // "max" (v2) or a page-rounded LONG_MAX (v1) means no limit.
    if (!limit || *limit >= (uint64_t{1} << 60)) return;
    if (!tightest || *limit < *tightest) tightest = limit;
  };
  std::istringstream lines(*cgroups);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    fs::path path = line.substr(second + 1);
    std::string root;
    std::string file;
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      root = "/sys/fs/cgroup";
      file = "memory.max";
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      root = "/sys/fs/cgroup/memory";
      file = "memory.limit_in_bytes";
    } else {
      continue;
    }
    // Walk up to the root: inside a cgroup namespace some levels are absent.
    for (;;) {
      consider(root + path.string() + "/" + file);
      if (!path.has_relative_path()) break;
      path = path.parent_path();
    }
  }
  return tightest;
}

json memory_section() {
  const std::string meminfo = read_text("/proc/meminfo").value_or("");
  return {
      {"total_bytes", or_null(meminfo_bytes(meminfo, "MemTotal"))},
      {"available_bytes", or_null(meminfo_bytes(meminfo, "MemAvailable"))},
      {"cgroup_limit_bytes", or_null(cgroup_memory_limit())},
  };
}

std::optional<std::string> os_pretty_name() {
  for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
      std::string value = trim(line.substr(12));
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
          value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return std::nullopt;
}

json os_section() {
  struct utsname names;
  const bool have_uname = uname(&names) == 0;
  auto field = [&](const char* value) { return have_uname ? json(value) : json("unknown"); };
  return {
      {"pretty_name", os_pretty_name().value_or("unknown")},
      {"kernel_name", field(names.sysname)},
      {"kernel_release", field(names.release)},
      {"kernel_version", field(names.version)},
      {"machine", field(names.machine)},
  };
}

// ISA macros the compiler targeted for ordinary files (not the per-file
// AVX-512 kernels, which are entered only after a runtime CPU check).
json baseline_isa_macros() {
  json macros = json::array();
#ifdef __SSE4_2__
  macros.push_back("__SSE4_2__");
#endif
#ifdef __AVX__
  macros.push_back("__AVX__");
#endif
#ifdef __AVX2__
  macros.push_back("__AVX2__");
#endif
#ifdef __FMA__
  macros.push_back("__FMA__");
#endif
#ifdef __F16C__
  macros.push_back("__F16C__");
#endif
#ifdef __AVX512F__
  macros.push_back("__AVX512F__");
#endif
#ifdef __AVX512BW__
  macros.push_back("__AVX512BW__");
#endif
#ifdef __AVX512VL__
  macros.push_back("__AVX512VL__");
#endif
#ifdef __AVX512VNNI__
  macros.push_back("__AVX512VNNI__");
#endif
#ifdef __AVX512BF16__
  macros.push_back("__AVX512BF16__");
#endif
#ifdef __ARM_NEON
  macros.push_back("__ARM_NEON");
#endif
  return macros;
}

json build_section() {
#if defined(__clang__)
  const std::string compiler_id = "clang";
  const std::string compiler_version =
      fmt::format("{}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  const std::string compiler_id = "gcc";
  const std::string compiler_version =
      fmt::format("{}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  const std::string compiler_id = "unknown";
  const std::string compiler_version = "unknown";
#endif
#ifdef __VERSION__
  const std::string compiler_full = __VERSION__;
#else
  const std::string compiler_full = "unknown";
#endif
  const std::string revision = TC_GIT_REVISION;
  // cmake/write_git_revision.cmake appends "-dirty" when `git status
  // --porcelain` was non-empty at build time.
  const std::string dirty_suffix = "-dirty";
  json dirty = nullptr;
  if (revision != "unknown" && !revision.empty()) {
    dirty = revision.size() > dirty_suffix.size() &&
            revision.compare(revision.size() - dirty_suffix.size(), dirty_suffix.size(),
                             dirty_suffix) == 0;
  }
  return {
      {"compiler_id", compiler_id},
      {"compiler_version", compiler_version},
      {"compiler_full", compiler_full},
      {"cplusplus", static_cast<long>(__cplusplus)},
      {"build_type", std::string(TC_BUILD_TYPE).empty() ? "unknown" : TC_BUILD_TYPE},
      {"cxx_flags", trim(TC_CXX_FLAGS)},
      {"baseline_isa_macros", baseline_isa_macros()},
      {"git_revision", revision.empty() ? "unknown" : revision},
      {"git_dirty", dirty},
  };
}

json library(json compiled, json runtime) {
  return {{"compiled", std::move(compiled)}, {"runtime", std::move(runtime)}};
}

std::string pcre2_runtime_version() {
  const int units = pcre2_config(PCRE2_CONFIG_VERSION, nullptr);
  if (units <= 0) return "unknown";
  std::string buffer(static_cast<size_t>(units), '\0');
  if (pcre2_config(PCRE2_CONFIG_VERSION, buffer.data()) <= 0) return "unknown";
  buffer.resize(buffer.find('\0') == std::string::npos ? buffer.size() : buffer.find('\0'));
  return buffer;
}

// "compiled": the headers this binary was built against; "runtime": the
// shared library actually loaded, where the library can say (null otherwise;
// header-only libraries are their compiled version).
json libraries_section() {
  const std::string nlohmann_version =
      fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                  NLOHMANN_JSON_VERSION_PATCH);
  const std::string fmt_version =
      fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
#ifdef FMT_HEADER_ONLY
  const json fmt_runtime = fmt_version;
#else
  const json fmt_runtime = nullptr;  // libfmt has no run-time version query
#endif
#ifdef CLI11_VERSION
  const json cli11_version = CLI11_VERSION;
#else
  const json cli11_version = nullptr;
#endif
#ifdef TOML_LIB_MAJOR
  const json toml_version = fmt::format("{}.{}.{}", TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH);
#else
  const json toml_version = nullptr;
#endif
#if defined(_GLIBCXX_RELEASE)
  const json cxx_stdlib = fmt::format("libstdc++ {} ({})", _GLIBCXX_RELEASE, __GLIBCXX__);
#elif defined(_LIBCPP_VERSION)
  const json cxx_stdlib = fmt::format("libc++ {}", _LIBCPP_VERSION);
#else
  const json cxx_stdlib = "unknown";
#endif
  return {
      {"nlohmann_json", library(nlohmann_version, nlohmann_version)},
      {"fmt", library(fmt_version, fmt_runtime)},
      {"pcre2", library(fmt::format("{}.{}", PCRE2_MAJOR, PCRE2_MINOR), pcre2_runtime_version())},
      {"utf8proc", library(fmt::format("{}.{}.{}", UTF8PROC_VERSION_MAJOR, UTF8PROC_VERSION_MINOR,
                                       UTF8PROC_VERSION_PATCH),
                           utf8proc_version())},
      // Header-only, used by the command line only.
      {"cli11", library(cli11_version, cli11_version)},
      // A shared library the harness links; only its header version is known here.
      {"tomlplusplus", library(toml_version, nullptr)},
      {"glibc", library(fmt::format("{}.{}", __GLIBC__, __GLIBC_MINOR__), gnu_get_libc_version())},
      {"cxx_stdlib", library(cxx_stdlib, nullptr)},
  };
}

std::optional<std::string> find_in_path(const std::string& program) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::istringstream parts(path);
    std::string dir;
    while (std::getline(parts, dir, ':')) {
      if (!dir.empty()) dirs.push_back(dir);
    }
  }
  dirs.push_back("/usr/bin");  // PATH may be stripped under a harness
  for (const std::string& dir : dirs) {
    const std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream parts(line);
  std::string field;
  while (std::getline(parts, field, ',')) fields.push_back(trim(field));
  return fields;
}

json gpu_section() {
  json gpu = {{"present", false},
              {"driver_version", nullptr},
              {"nvidia_proc_version", nullptr},
              {"devices", json::array()}};
  if (std::optional<std::string> proc = read_text("/proc/driver/nvidia/version")) {
    const std::string first_line = trim(proc->substr(0, proc->find('\n')));
    gpu["nvidia_proc_version"] = first_line;
    gpu["present"] = true;
    // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug ..."
    const size_t at = first_line.find("Kernel Module");
    if (at != std::string::npos) {
      std::istringstream rest(first_line.substr(at + 13));
      std::string version;
      if (rest >> version) gpu["driver_version"] = version;
    }
  }
  const std::optional<std::string> smi = find_in_path("nvidia-smi");
  // The path goes into a shell command line: refuse anything needing quoting.
  if (smi && smi->find_first_of("'\"\\$`") == std::string::npos) {
    const std::string command =
        "'" + *smi +
        "' --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null";
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      std::string output;
      char buffer[512];
      size_t got = 0;
      while ((got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, got);
      const int status = ::pclose(pipe);
      if (status == 0) {
        std::istringstream lines(output);
        std::string line;
        while (std::getline(lines, line)) {
          const std::vector<std::string> fields = split_csv(line);
          if (fields.size() < 3) continue;
          gpu["devices"].push_back(
              {{"name", fields[0]}, {"driver_version", fields[1]}, {"memory_total", fields[2]}});
          gpu["present"] = true;
          if (gpu["driver_version"].is_null()) gpu["driver_version"] = fields[1];
        }
      }
    }
  }
  return gpu;
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  if (gmtime_r(&now, &parts) == nullptr) return "unknown";
  char text[32];
  if (std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts) == 0) return "unknown";
  return text;
}

std::string hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

}  // namespace

const std::vector<std::string>& tracked_isa_flags() {
  static const std::vector<std::string> flags = {
      "sse4_2",      "avx",      "avx2",     "fma",         "f16c",
      "avx512f",     "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
      "avx512_fp16", "avx_vnni", "amx_tile", "amx_int8",    "amx_bf16",
  };
  return flags;
}

const std::vector<std::string>& hardware_snapshot_fields() {
  static const std::vector<std::string> fields = [] {
    std::vector<std::string> list = {
        "/schema",
        "/timestamp_utc",
        "/hostname",
        "/cpu/model_name",
        "/cpu/vendor",
        "/cpu/logical_cpus",
        "/cpu/affinity_cpus",
        "/cpu/physical_cores",
        "/cpu/sockets",
        "/cpu/caches/l1d_bytes",
        "/cpu/caches/l1i_bytes",
        "/cpu/caches/l2_bytes",
        "/cpu/caches/l3_bytes",
    };
    for (const std::string& flag : tracked_isa_flags()) list.push_back("/cpu/isa_flags/" + flag);
    for (const char* field : {
             "/cpu/kernel_isa",
             "/cpu/prefill_gemm_isa",
             "/cpu/hypervisor",
             "/cpu/scaling_governor",
             "/memory/total_bytes",
             "/memory/available_bytes",
             "/memory/cgroup_limit_bytes",
             "/os/pretty_name",
             "/os/kernel_name",
             "/os/kernel_release",
             "/os/kernel_version",
             "/os/machine",
             "/build/compiler_id",
             "/build/compiler_version",
             "/build/compiler_full",
             "/build/cplusplus",
             "/build/build_type",
             "/build/cxx_flags",
             "/build/baseline_isa_macros",
             "/build/git_revision",
             "/build/git_dirty",
         }) {
      list.push_back(field);
    }
    for (const char* name : {"nlohmann_json", "fmt", "pcre2", "utf8proc", "cli11", "tomlplusplus",
                             "glibc", "cxx_stdlib"}) {
      list.push_back(fmt::format("/libraries/{}/compiled", name));
      list.push_back(fmt::format("/libraries/{}/runtime", name));
    }
    for (const char* field :
         {"/gpu/present", "/gpu/driver_version", "/gpu/nvidia_proc_version", "/gpu/devices"}) {
      list.push_back(field);
    }
    return list;
  }();
  return fields;
}

json hardware_snapshot() {
  return {
      {"schema", "tc.hardware_snapshot/1"},
      {"timestamp_utc", utc_timestamp()},
      {"hostname", hostname()},
      {"cpu", cpu_section()},
      {"memory", memory_section()},
      {"os", os_section()},
      {"build", build_section()},
      {"libraries", libraries_section()},
      {"gpu", gpu_section()},
  };
}

}  // namespace tc::profile
