// Decode (one token) matrix-vector kernels: y[r] = Σ_c w[r][c] · x[c] for
// rows [row_begin, row_end), single-threaded (the caller splits rows across
// threads). Decode streams every weight once per token, so these kernels are
// built to keep up with memory: each reads its rows as one sequential stream
// with a software prefetch ahead (gemv_prefetch.h), x stays in L1, and the
// per-element unpacking is a couple of instructions.
//
// int4 reads x in a permuted order, prepared once per matmul by
// gemv_prepare_x (O(cols), shared by all threads):
//  - int4 g128: per group of 128 inputs, element 8·i + j at [j·16 + i], so a
//    64-byte load of the group's nibbles (16 dwords of 8 nibbles) yields input
//    j of every dword lane after a shift by 4·j; the nibble is then looked up
//    in a 16-entry fp32 table already multiplied by the group's scale.
// The prepared buffer is zero past cols, so padding lanes contribute 0.
#pragma once

#include <cstdint>

namespace tc::kernels {

enum class GemvLayout : uint8_t { kPlain, kQ4Group };

// Floats of prepared x for `cols` inputs in `layout` (a multiple of 16).
int64_t gemv_prepared_size(GemvLayout layout, int64_t cols);
// Writes the prepared form of x[0..cols) (zero-padded) to `prepared`.
void gemv_prepare_x(GemvLayout layout, const float* x, int64_t cols, float* prepared);

// What a thread reads after one kernel call, so that its calls read as one
// stream (the threads walk a matrix in claims of rows, row_walk.h): the kernel keeps
// prefetching past its last row into rows [begin, end), and with `warm` it
// skips the burst of prefetches for its own first rows (the call before
// made them). Value-initialized (GemvNext{}): nothing known, start cold.
struct GemvNext {
  int64_t begin, end;
  bool warm;
};

namespace avx512 {
// AVX-512 kernels (gemv_avx512.cc); call only when cpu_has_avx512().
// `x` is in the layout named for each.
void gemv_f32(const float* w, int64_t cols, const float* x, float* y, int64_t row_begin,
              int64_t row_end, const GemvNext& next = {});  // kPlain
void gemv_f16(const uint16_t* w, int64_t cols, const float* x, float* y, int64_t row_begin,
              int64_t row_end, const GemvNext& next = {});  // kPlain
void gemv_bf16(const uint16_t* w, int64_t cols, const float* x, float* y, int64_t row_begin,
               int64_t row_end, const GemvNext& next = {});  // kPlain
// kQ8Row: q int8 [rows, cols], scales fp32 [rows]. kPlain.
void gemv_q8_row(const int8_t* q, const float* scales, int64_t cols, const float* x, float* y,
                 int64_t row_begin, int64_t row_end, const GemvNext& next = {});
// kQ4G128: packed [rows, (cols+1)/2], scales fp16 [rows, ceil(cols/128)]. kQ4Group.
void gemv_q4_g128(const uint8_t* packed, const uint16_t* scales, int64_t cols, const float* x,
                  float* y, int64_t row_begin, int64_t row_end, const GemvNext& next = {});
}  // namespace avx512

// ---- int4 g128 and int8 rows with integer dot products (AVX-512 VNNI) -----------
// Widening int4 or int8 weights to fp32 costs about three vector instructions
// per 16 weights, which makes the kernels above compute-bound below the
// memory bandwidth (int4 at about half of it). vpdpbusd multiplies 64
// unsigned bytes by 64 signed bytes and sums them in fours into int32 in one
// instruction, so these kernels feed it the weights as unsigned bytes and x
// as integers:
//  - x is quantized per group of 128 inputs to 16 bits, q = round(x / s) with
//    s = max|x| / 32512, and carried as two int8 halves q = 256·hi + lo (hi
//    in [-127, 127], lo in [-128, 127]). Every product is then exact in int32
//    and the only difference from fp32 is x's rounding, at most s/2 per input
//    (1.5e-5 of the group's largest |x|): far below the weights' own
//    rounding, and unlike an 8-bit x (llama.cpp's Q4_0 × Q8_0) it leaves the
//    methods weight-only in effect.
//  - The unsigned weight is w + zero (int4: the stored nibble, zero 8; int8:
//    w XOR 0x80, zero 128), so each group's sum is Σ (w + zero)·q - zero·Σ q.
//    The second term is precomputed per int32 lane (`corrections`) and
//    starts the accumulator, so it costs nothing per row.
//  - Per group of 128 and row: int4 does one load and three ops to split the
//    nibbles, int8 two loads and two XORs; then four vpdpbusd and four ops to
//    scale the group into an fp32 accumulator (about 12 instructions, where
//    the fp32 widening takes 24).
constexpr int64_t kSplitGroup = 128;       // inputs per x group (= the int4 weights' group)
constexpr int64_t kSplitGroupBytes = 256;  // x bytes per group: four vectors of 64
constexpr int kSplitLanes = 16;            // int32 lanes of one vpdpbusd

// Where input c of a group sits in its 128-byte half, following the weights:
//  - kNibblePairs (int4): byte b holds inputs 2b (low nibble) and 2b + 1
//    (high), so input c is at c / 2 of the first vector (even c) or of the
//    second (odd c);
//  - kBytes (int8): input c at byte c.
// Either way lane l of a vector covers its bytes 4l .. 4l + 3.
enum class SplitLayout : uint8_t { kNibblePairs, kBytes };

// x in the form the VNNI kernels read, for ceil(cols / 128) groups.
struct SplitX {
  // Per group: hi of the 128 inputs in the layout's order (two vectors of
  // 64), then lo in the same order.
  const int8_t* parts;
  const float* scales;         // per group: s (NaN if the group holds a NaN or inf)
  const int32_t* corrections;  // per group and lane: -zero · Σ q over the lane's inputs
};

// Quantizes and splits x[0..cols) into the three arrays (sizes: groups ·
// kSplitGroupBytes, groups, groups · kSplitLanes). Inputs past cols are 0.
// The reference definition; avx512::split_x_vnni writes the same bytes faster.
void split_x(SplitLayout layout, const float* x, int64_t cols, int8_t* parts, float* scales,
             int32_t* corrections);

// The scalar twins: the same integer sums, for checking the AVX-512 kernels.
//   int4: y[r] = Σ_g (w_scale[r][g] · s_g) · Σ_{c in g} (n_c - 8) · q_c
//   int8: y[r] = w_scale[r] · Σ_g s_g · Σ_{c in g} w_c · q_c
void gemv_q4_g128_split_scalar(const uint8_t* packed, const uint16_t* scales, int64_t cols,
                               const SplitX& x, float* y, int64_t row_begin, int64_t row_end);
void gemv_q8_row_split_scalar(const int8_t* q, const float* scales, int64_t cols, const SplitX& x,
                              float* y, int64_t row_begin, int64_t row_end);

namespace avx512 {
// gemv_vnni_avx512.cc; call only when cpu_has_avx512_vnni(). x in
// kNibblePairs for int4, kBytes for int8.
void split_x_vnni(SplitLayout layout, const float* x, int64_t cols, int8_t* parts, float* scales,
                  int32_t* corrections);
void gemv_q4_g128_vnni(const uint8_t* packed, const uint16_t* scales, int64_t cols, const SplitX& x,
                       float* y, int64_t row_begin, int64_t row_end, const GemvNext& next = {});
void gemv_q8_row_vnni(const int8_t* q, const float* scales, int64_t cols, const SplitX& x, float* y,
                      int64_t row_begin, int64_t row_end, const GemvNext& next = {});
}  // namespace avx512

}  // namespace tc::kernels
