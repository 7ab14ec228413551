// Dot products of one weight row (in its stored format) with an fp32 vector.
// Each has a scalar version and an AVX2/FMA version selected at run time.
#pragma once

#include <cstdint>

namespace tc::kernels {

using DotF32 = float (*)(const float* w, const float* x, int64_t n);
using DotU16 = float (*)(const uint16_t* w, const float* x, int64_t n);
// Σ q[c]·x[c] of an int8 row (kQ8Row; the caller applies the row scale).
using DotQ8 = float (*)(const int8_t* q, const float* x, int64_t n);
// Σ_c w[c]·x[c] of a kQ4G128 row: `row` packed (two per byte), `scales` fp16
// per group of 128 inputs.
using DotQ4 = float (*)(const uint8_t* row, const uint16_t* scales, const float* x, int64_t n);

// Used where the CPU has no AVX-512 (which has its own kernels, gemv.h).
struct DotKernels {
  DotF32 f32;
  DotU16 bf16;
  DotU16 f16;
  DotQ8 q8;
  DotQ4 q4;
  const char* isa;  // "avx2+fma+f16c" or "scalar"
};

// The best kernels this CPU supports (decided once).
const DotKernels& dot_kernels();
// The portable scalar kernels (for tests and as a fallback).
const DotKernels& scalar_dot_kernels();

}  // namespace tc::kernels
