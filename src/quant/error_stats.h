// How far a quantized matrix is from the original it was made from.
#pragma once

#include "weights/weight_matrix.h"

namespace tc::quant {

// ‖W − Ŵ‖_F / ‖W‖_F, summed in double over the rows dequantized with
// row_to_f32 (any two formats of the same shape). 0 when both are zero;
// infinity when only the original is zero.
double relative_frobenius_error(const weights::WeightMatrix& original,
                                const weights::WeightMatrix& quantized);

}  // namespace tc::quant
