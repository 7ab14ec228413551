// Dot products of one weight row (in its stored format) with an fp32 vector.
// Each has a scalar version and an AVX2/FMA version selected at run time.
#pragma once

#include <cstdint>

namespace tc::kernels {

using DotF32 = float (*)(const float* w, const float* x, int64_t n);
using DotU16 = float (*)(const uint16_t* w, const float* x, int64_t n);

struct DotKernels {
  DotF32 f32;
  DotU16 bf16;
  DotU16 f16;
  const char* isa;  // "avx2+fma+f16c" or "scalar"
};

// The best kernels this CPU supports (decided once).
const DotKernels& dot_kernels();
// The portable scalar kernels (for tests and as a fallback).
const DotKernels& scalar_dot_kernels();

}  // namespace tc::kernels
