#pragma once
// Indexing with int64 index tensors (another dtype is std::invalid_argument); backward scatter-adds,
// so repeated indices sum their gradients. An index out of range (negative or >= the size) is
// std::out_of_range naming the op, the index and the size, e.g. "embedding: index 12 is out of
// range for 10 rows". The picked tensor may have any dtype, except embedding's float weight.
#include "seqgrad/graph/node.hpp"

namespace seqgrad {

// weight [V, E], indices (int64, any shape) -> [..., E]. Positions whose index equals padding_idx
// (when >= 0; it must be < V) give their row no gradient, as torch's padding_idx.
Tensor embedding(const Tensor& weight, const Tensor& indices, long padding_idx = -1);
// Picks entries of x along `axis` at the 1-D `indices` (torch.index_select).
Tensor index_select(const Tensor& x, long axis, const Tensor& indices);
// out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (torch.gather): index has x's rank, is no larger
// than x on the other axes, and gives the output's shape.
Tensor gather(const Tensor& x, long axis, const Tensor& index);

}  // namespace seqgrad
