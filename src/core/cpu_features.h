// CPU features checked once at run time, for choosing kernels. Read with
// CPUID directly: clang 14's __builtin_cpu_supports does not know "f16c".
//
// The kernels come in three instruction-set levels (core/isa_region.h says
// how they are compiled): the x86-64 baseline ("scalar"), AVX2 (with FMA and
// F16C) and AVX-512 (F, BW, VL; VNNI where present). Every kernel choice
// asks cpu_has_avx2() / cpu_has_avx512() / cpu_has_avx512_vnni(), never the
// raw CPUID bits, so the environment variable TC_ISA can force a lower level
// for the whole process:
//   TC_ISA=scalar   the portable kernels only;
//   TC_ISA=avx2     exactly what an AVX2-only CPU has (AVX2, FMA, F16C; no
//                   AVX-512, no AVX-VNNI);
//   TC_ISA=avx512   every feature this CPU has (as when TC_ISA is unset).
// A level the CPU lacks, or an unknown name, is an error (tc::Error) at the
// first kernel choice; the command line checks it at start-up.
#pragma once

#include <cstdint>

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

enum class IsaLevel : uint8_t { kScalar, kAvx2, kAvx512 };

// The features the kernels may use: what the CPU reports, limited to the
// level TC_ISA forces (all of them when it is unset). Throws tc::Error on a
// bad TC_ISA.
const CpuFeatures& cpu_features();
// The level the kernels run at (the highest one cpu_features() covers).
IsaLevel isa_level();

// AVX2 + FMA + F16C: the AVX2 kernels may run.
bool cpu_has_avx2();
// The AVX2 level plus AVX-512 F, BW and VL: the AVX-512 kernels may run.
bool cpu_has_avx512();
// cpu_has_avx512() and AVX-512 VNNI (the integer dot-product kernels).
bool cpu_has_avx512_vnni();

}  // namespace tc
