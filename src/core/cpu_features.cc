#include "core/cpu_features.h"

#include <cpuid.h>

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace tc {

namespace {

// The OS must save the AVX (and AVX-512) register state, or the instructions fault.
bool os_saves(unsigned mask) {
  unsigned eax, edx;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & mask) == mask;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = (ecx >> 27) & 1;
  const bool avx_state = osxsave && os_saves(0x6);      // XMM and YMM
  const bool avx512_state = osxsave && os_saves(0xe6);  // plus opmask and ZMM
  f.fma = avx_state && ((ecx >> 12) & 1);
  f.f16c = avx_state && ((ecx >> 29) & 1);
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    f.avx2 = avx_state && ((ebx >> 5) & 1);
    f.avx512f = avx512_state && ((ebx >> 16) & 1);
    f.avx512bw = avx512_state && ((ebx >> 30) & 1);
    f.avx512vl = avx512_state && ((ebx >> 31) & 1);
    f.avx512_vnni = avx512_state && ((ecx >> 11) & 1);
  }
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) f.avx_vnni = avx_state && ((eax >> 4) & 1);
  return f;
}

bool has_avx2_level(const CpuFeatures& f) { return f.avx2 && f.fma && f.f16c; }
bool has_avx512_level(const CpuFeatures& f) {
  return has_avx2_level(f) && f.avx512f && f.avx512bw && f.avx512vl;
}

// detected limited to the level named by TC_ISA.
CpuFeatures limit_to_requested_level(const CpuFeatures& detected) {
  const char* requested = std::getenv("TC_ISA");
  if (requested == nullptr || *requested == '\0') return detected;
  const std::string name = requested;
  if (name == "scalar") return CpuFeatures{};
  if (name == "avx2") {
    if (!has_avx2_level(detected)) {
      fail("TC_ISA=avx2: this CPU lacks AVX2, FMA or F16C (use TC_ISA=scalar)");
    }
    CpuFeatures f;
    f.avx2 = f.fma = f.f16c = true;
    return f;
  }
  if (name == "avx512") {
    if (!has_avx512_level(detected)) {
      fail("TC_ISA=avx512: this CPU lacks AVX-512 F, BW or VL (use TC_ISA=avx2 or scalar)");
    }
    return detected;
  }
  fail("TC_ISA={}: unknown instruction-set level (scalar, avx2 or avx512)", name);
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = limit_to_requested_level(detect());
  return features;
}

IsaLevel isa_level() {
  if (cpu_has_avx512()) return IsaLevel::kAvx512;
  if (cpu_has_avx2()) return IsaLevel::kAvx2;
  return IsaLevel::kScalar;
}

bool cpu_has_avx2() { return has_avx2_level(cpu_features()); }
bool cpu_has_avx512() { return has_avx512_level(cpu_features()); }
bool cpu_has_avx512_vnni() { return cpu_has_avx512() && cpu_features().avx512_vnni; }

}  // namespace tc
