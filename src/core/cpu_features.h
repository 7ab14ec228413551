// CPU features checked once at run time, for choosing kernels. Read with
// CPUID directly: clang 14's __builtin_cpu_supports does not know "f16c".
#pragma once

namespace tc {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;
};

const CpuFeatures& cpu_features();

}  // namespace tc
