#pragma once
// Indexing with int64 index tensors; backward scatter-adds. An index out of range is an error that
// names the op, the index and the size.
#include "seqgrad/graph/node.hpp"

namespace seqgrad {

// weight [V, E], indices (int64, any shape) -> [..., E]. Rows equal to padding_idx (if >= 0) get no gradient.
Tensor embedding(const Tensor& weight, const Tensor& indices, long padding_idx = -1);
// Picks entries of x along `axis` at the 1-D `indices` (torch.index_select).
Tensor index_select(const Tensor& x, long axis, const Tensor& indices);
// out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (torch.gather); index has x's rank.
Tensor gather(const Tensor& x, long axis, const Tensor& index);

}  // namespace seqgrad
