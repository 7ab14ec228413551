// Regions of code built for an instruction set above the x86-64 baseline.
//
// The whole build targets the baseline (SSE2), so the binary starts on any
// x86-64 CPU. Kernels for wider instruction sets are compiled inside a region:
//
//   #include <immintrin.h>          // every header first, outside the region
//   #include "kernels/cpu/gemv.h"
//
//   TC_ISA_AVX512_BEGIN
//   namespace tc::kernels::avx512 {
//   ... kernels, their helpers, lambdas and templates ...
//   }  // namespace tc::kernels::avx512
//   TC_ISA_END
//
// Every function defined inside the region (lambdas and templates included)
// may use the region's instructions; nothing else does. That is why the
// rules are:
//  - headers are included before the region, so inline code they define
//    (the standard library's, ours) is compiled for the baseline and can
//    never reach a baseline caller as a wide-instruction copy;
//  - the region defines no object with dynamic initialization (its
//    initializer would run at start-up, before any CPU check);
//  - the region's code lives in a namespace named after its level, `avx2` or
//    `avx512`, and is called only after the CPU check of kernels/cpu/isa.h.
// scripts/check_isa_baseline.sh disassembles the binaries and fails on any
// VEX or EVEX instruction outside those namespaces (a ctest test).
//
// A function that needs more than its region (AVX-512 VNNI) is marked
// TC_ISA_VNNI: the AVX-512 level plus VNNI.
#pragma once

#define TC_ISA_PRAGMA(text) _Pragma(#text)

// AVX2 level: what every AVX2 CPU of the last decade has.
#define TC_ISA_AVX2_FEATURES "avx2,fma,f16c"
// AVX-512 level: the subsets the kernels use (Skylake-SP, Ice Lake, Zen 4/5).
#define TC_ISA_AVX512_FEATURES "avx512f,avx512bw,avx512vl,avx2,fma,f16c"

#if defined(__clang__)
#define TC_ISA_BEGIN(features) \
  TC_ISA_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define TC_ISA_END TC_ISA_PRAGMA(clang attribute pop)
#elif defined(__GNUC__)
#define TC_ISA_BEGIN(features) TC_ISA_PRAGMA(GCC push_options) TC_ISA_PRAGMA(GCC target(features))
#define TC_ISA_END TC_ISA_PRAGMA(GCC pop_options)
#else
#error "tinycompress needs GCC or clang (target regions for its kernels)"
#endif

#define TC_ISA_AVX2_BEGIN TC_ISA_BEGIN(TC_ISA_AVX2_FEATURES)
#define TC_ISA_AVX512_BEGIN TC_ISA_BEGIN(TC_ISA_AVX512_FEATURES)
// The whole AVX-512 list again: clang drops a region's features from a
// function that has a target attribute of its own.
#define TC_ISA_VNNI __attribute__((target(TC_ISA_AVX512_FEATURES ",avx512vnni")))
