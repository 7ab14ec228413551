// The constants of the vectorized e^x (see fast_exp.h for the method), in a
// header of their own: the AVX2 avx2::exp8 and the AVX-512 exp_avx512
// (attention_decode_avx512.cc) must compute the same values.
#pragma once

namespace tc::kernels::exp_constants {

// Clamp range: keeps n = round(x·log2 e) in [-150, 128].
constexpr float kLowest = -104.0f;
constexpr float kHighest = 88.8f;
constexpr float kLog2e = 1.44269504088896341f;
// ln 2 in two parts, so n·kLn2High is exact.
constexpr float kLn2High = 0.693359375f;
constexpr float kLn2Low = -2.12194440e-4f;
// e^r ≈ 1 + r + r²·(kP5 + r·(kP4 + r·(kP3 + r·(kP2 + r·(kP1 + r·kP0))))).
constexpr float kP0 = 1.9875691500e-4f;
constexpr float kP1 = 1.3981999507e-3f;
constexpr float kP2 = 8.3334519073e-3f;
constexpr float kP3 = 4.1665795894e-2f;
constexpr float kP4 = 1.6666665459e-1f;
constexpr float kP5 = 5.0000001201e-1f;

}  // namespace tc::kernels::exp_constants
