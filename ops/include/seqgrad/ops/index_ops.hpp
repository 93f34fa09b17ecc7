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

// The scatter-adds: index_select's and embedding's backward is an index_add into zeros, gather's a
// scatter_add, so that under create_graph those backwards are recorded and differentiable again.
// Their own backward is dx = dy and dsource = index_select / gather of dy. x and source are one
// float dtype; a source that does not fit is std::invalid_argument naming the op and both shapes.

// x with source's slices added along `axis` at the 1-D `indices` (torch.index_add):
// y[.., indices[j], ..] += source[.., j, ..]. source has x's shape with indices.numel() along axis.
Tensor index_add(const Tensor& x, long axis, const Tensor& indices, const Tensor& source);
// x with source[p] added where gather would read index[p] (torch.scatter_add): y[i][index[i][j][k]][k]
// += source[i][j][k] for axis 1. index has source's shape and fits x as gather's index does.
Tensor scatter_add(const Tensor& x, long axis, const Tensor& index, const Tensor& source);

}  // namespace seqgrad
