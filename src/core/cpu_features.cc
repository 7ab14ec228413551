#include "core/cpu_features.h"

#include <cpuid.h>

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

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace tc
