// Element-wise and row-wise operators of the Qwen2 block, fp32 in and out.
#pragma once

#include <cstdint>

namespace tc::kernels {

// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i], for each of n rows of width d.
void rms_norm(const float* x, const float* weight, int64_t n, int64_t d, double eps, float* out);
// Its scalar twin: squares summed in double, one fp32 inverse per row (the
// fallback without AVX2, and the reference backend's RMSNorm).
void rms_norm_reference(const float* x, const float* weight, int64_t n, int64_t d, double eps,
                        float* out);

// Rotary embedding, rotate-half convention (as transformers' Qwen2): for a
// head vector h of width hd at position p, pairs (i, i + hd/2) rotate by
// angle p · theta^(-2i/hd). `x` is [n, heads, hd]; cos and sin [n, hd/2]
// hold the angles of each row's position (model/rope.h computes them once
// per forward pass for every layer).
void rope_apply(float* x, int64_t n, int64_t heads, int64_t head_dim, const float* cos,
                const float* sin);

// gate[i] = silu(gate[i]) * up[i] for n rows of width d (in place in gate).
void silu_mul(float* gate, const float* up, int64_t count);
// The same on the calling thread, for callers already inside a pool job.
void silu_mul_serial(float* gate, const float* up, int64_t count);
// The scalar twin of both (the fallback without AVX2, and the reference
// backend's SiLU·mul).
void silu_mul_reference(float* gate, const float* up, int64_t count);

// x[i] += y[i].
void add_inplace(float* x, const float* y, int64_t count);

// Adds bias[0..d) to each of n rows.
void add_bias(float* x, const float* bias, int64_t n, int64_t d);

}  // namespace tc::kernels
