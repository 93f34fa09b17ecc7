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

// While one is alive on this thread, linear() over 8 to 63 rows multiplies by a transposed
// copy of the weight, made at the weight's first such use and kept until the scope ends: x W^T
// becomes x (W^T), the layout the GEMM kernels stream fastest at these sizes (bench/README.md has
// the figures). A recurrent network uses each weight once per
// time step, so one copy serves a whole sequence. Open it around a forward pass whose weights do not
// change inside it (the RNN layers and the seq2seq model do); scopes nest, the outermost one owns
// the copies. Gradients are unchanged: they still go to the weight.
class WeightTransposeScope {
 public:
  WeightTransposeScope();
  ~WeightTransposeScope();
  WeightTransposeScope(const WeightTransposeScope&) = delete;
  WeightTransposeScope& operator=(const WeightTransposeScope&) = delete;
  // Whether one is alive on this thread: optimizers and weight loading refuse to change weights then.
  static bool active();

 private:
  bool outermost_;
};

}  // namespace seqgrad
