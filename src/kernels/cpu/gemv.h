// Decode (one token) matrix-vector kernels: y[r] = Σ_c w[r][c] · x[c] for
// rows [row_begin, row_end), single-threaded (the caller splits rows across
// threads). Decode streams every weight once per token, so these kernels are
// built to keep up with memory: four rows share each load of x, and the
// per-element unpacking is a couple of instructions.
//
// int4 reads x in a permuted order, prepared once per matmul by
// gemv_prepare_x (O(cols), shared by all threads):
//  - int4 g128: per group of 128 inputs, element 8·i + j at [j·16 + i], so a
//    64-byte load of the group's nibbles (16 dwords of 8 nibbles) yields input
//    j of every dword lane after a shift by 4·j; the nibble is then looked up
//    in a 16-entry fp32 table already multiplied by the group's scale.
// The prepared buffer is zero past cols, so padding lanes contribute 0.
//
// Raw pointers only: gemv_avx512.cc is compiled with AVX-512 flags and must
// not instantiate shared inline code.
#pragma once

#include <cstdint>

namespace tc::kernels {

enum class GemvLayout : uint8_t { kPlain, kQ4Group };

// Floats of prepared x for `cols` inputs in `layout` (a multiple of 16).
int64_t gemv_prepared_size(GemvLayout layout, int64_t cols);
// Writes the prepared form of x[0..cols) (zero-padded) to `prepared`.
void gemv_prepare_x(GemvLayout layout, const float* x, int64_t cols, float* prepared);

// AVX-512 kernels (gemv_avx512.cc); call only when cpu_has_avx512().
// `x` is in the layout named for each.
void gemv_f32_avx512(const float* w, int64_t cols, const float* x, float* y, int64_t row_begin,
                     int64_t row_end);  // kPlain
void gemv_f16_avx512(const uint16_t* w, int64_t cols, const float* x, float* y, int64_t row_begin,
                     int64_t row_end);  // kPlain
void gemv_bf16_avx512(const uint16_t* w, int64_t cols, const float* x, float* y, int64_t row_begin,
                      int64_t row_end);  // kPlain
// kQ8Row: q int8 [rows, cols], scales fp32 [rows]. kPlain.
void gemv_q8_row_avx512(const int8_t* q, const float* scales, int64_t cols, const float* x,
                        float* y, int64_t row_begin, int64_t row_end);
// kQ4G128: packed [rows, (cols+1)/2], scales fp16 [rows, ceil(cols/128)]. kQ4Group.
void gemv_q4_g128_avx512(const uint8_t* packed, const uint16_t* scales, int64_t cols,
                         const float* x, float* y, int64_t row_begin, int64_t row_end);

}  // namespace tc::kernels
