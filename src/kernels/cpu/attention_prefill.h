// The AVX-512 register tiles of prefill attention (attention_prefill_avx512.cc):
// the two products of each key block, Q·Kᵀ and P·V. attention.cc keeps the
// rest of prefill (the split into tasks, the K transpose, the online
// softmax); these replace its AVX2 tiles where the CPU has AVX-512 and the
// head dimension is a multiple of 16. With 16 lanes they do twice the work
// per instruction: at 2048 tokens prefill attention was a fifth of a Qwen2.5
// 0.5B prefill on the AVX2 tiles, and one layer of it (attention_bench,
// two threads) takes 25 ms on these against 39; at 128 tokens 0.12 against
// 0.18 ms.
#pragma once

#include <cstdint>

namespace tc::kernels {

namespace avx512 {

// s[r·lds + j] = Σ_d q[r·dim + d] · kt[d·ldk + j] for rows r < rows and keys
// j < width (a multiple of 16). Call only when cpu_has_avx512().
void prefill_scores(const float* q, int64_t rows, int64_t dim, const float* kt, int64_t ldk,
                    int64_t width, float* s, int64_t lds);

// o[r·dim + c] += Σ_{j<count} p[r·ldp + j] · v[j·ldv + c] for rows r < rows
// and dims c < dim (a multiple of 16). Call only when cpu_has_avx512().
void prefill_pv(const float* p, int64_t ldp, int64_t rows, const float* v, int64_t ldv,
                int64_t count, float* o, int64_t dim);

}  // namespace avx512

}  // namespace tc::kernels
