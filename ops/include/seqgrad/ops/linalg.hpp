#pragma once
// Matrix products through the GEMM backend (seqgrad/ops/backend.hpp). Backward uses gemm's transpose
// flags and beta = 1 accumulation: no transposed copies, no separate additions.
#include "seqgrad/graph/node.hpp"

namespace seqgrad {

// a: [M,K] or [B,M,K]; b: [K,N] or [B,K,N]. A 2-D operand is shared by every batch entry.
// transpose_a / transpose_b use a's / b's last two dimensions transposed, without copying.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

// y = x weight^T + bias, as torch.nn.functional.linear. x: [..., in], weight: [out, in], bias: [out]
// or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace seqgrad
