// Indexing by int64 tensors. Forward picks rows or elements (row picks are memcpy); backward
// scatter-adds the gradient back to where each one came from, in index order, so repeated indices
// sum and results do not depend on threads. Every index is checked once, in the forward, before
// anything is read: the backward reuses the checked indices.
//
// The scatter-adds are ops too (index_add, scatter_add), so that under create_graph a backward is
// recorded: index_select's and embedding's gradient is an index_add, gather's a scatter_add, and
// theirs is index_select and gather again. One kernel per access pattern (for_each_indexed_row,
// for_each_gathered) serves an op's forward and its partner's raw backward.
//
// No xtensor here: there is no math to vectorize, and this translation unit stays cheap to compile.
#include "seqgrad/ops/index_ops.hpp"

#include <cstring>
#include <stdexcept>

#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/ops/elementwise.hpp"
#include "seqgrad/ops/shape_ops.hpp"
#include "seqgrad/ops/catalogue.hpp"

namespace seqgrad {

namespace {

void require_int64(const char* op, const char* what, const Tensor& t) {
  if (t.dtype() != DType::i64)
    throw std::invalid_argument(std::string(op) + ": " + what + " must be int64, got " + dtype_name(t.dtype()) + " " +
                                to_string(t.shape()));
}

// x and source of a scatter-add are added together: one dtype.
void require_same_dtype(const char* op, const Tensor& x, const Tensor& source) {
  if (x.dtype() != source.dtype())
    throw std::invalid_argument(std::string(op) + ": source is " + dtype_name(source.dtype()) + " " +
                                to_string(source.shape()) + " but x is " + dtype_name(x.dtype()) + " " +
                                to_string(x.shape()));
}

// Throws std::out_of_range naming op, the first index outside [0, size) and `of_what` ("10 rows").
void check_indices(const char* op, const Tensor& indices, std::size_t size, const std::string& of_what) {
  const std::int64_t* idx = indices.data<std::int64_t>();
  for (std::size_t k = 0, n = indices.numel(); k < n; ++k)
    if (idx[k] < 0 || static_cast<std::size_t>(idx[k]) >= size)
      throw std::out_of_range(std::string(op) + ": index " + std::to_string(idx[k]) + " is out of range for " +
                              of_what);
}

std::string axis_of_size(std::size_t axis, std::size_t size) {
  return "axis " + std::to_string(axis) + " of size " + std::to_string(size);
}

using kernels::AxisBlocks;
using kernels::blocks_around;

template <class T>
void add_row(const T* src, T* dst, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) dst[j] += src[j];
}

// Row picks along an axis. The indexed side is seen as [outer, size, inner] (`blocks`), the dense
// side as [outer, n, inner] for the n indices: calls visit(indexed_offset, dense_offset) for the row
// of inner elements at [o, idx[j]] and [o, j], for every o and every j whose index is not `skip`
// (embedding's padding_idx; -1 skips none). Nothing is visited when rows are empty.
// (Sizes and pointers are taken by value, here and in the visitors, so that they stay in registers
// while rows are written.)
template <class Visit>
void for_each_indexed_row(AxisBlocks blocks, const std::int64_t* idx, std::size_t n, std::int64_t skip, Visit visit) {
  const std::size_t size = blocks.size, inner = blocks.inner;
  if (inner == 0) return;
  for (std::size_t o = 0; o < blocks.outer; ++o)
    for (std::size_t j = 0; j < n; ++j)
      if (idx[j] != skip) visit((o * size + static_cast<std::size_t>(idx[j])) * inner, (o * n + j) * inner);
}

// dense[o, j, :] = indexed[o, idx[j], :] (index_select's and embedding's forward, index_add's backward).
template <class T>
void pick_rows(const T* indexed, const AxisBlocks& blocks, const std::int64_t* idx, std::size_t n, T* dense) {
  const std::size_t bytes = blocks.inner * sizeof(T);
  for_each_indexed_row(blocks, idx, n, -1, [indexed, dense, bytes](std::size_t io, std::size_t dof) {
    std::memcpy(dense + dof, indexed + io, bytes);
  });
}

// indexed[o, idx[j], :] += dense[o, j, :] for indices other than `skip` (index_add's forward, the raw
// backward of index_select and embedding).
template <class T>
void add_rows_at(const T* dense, const std::int64_t* idx, std::size_t n, std::int64_t skip, const AxisBlocks& blocks,
                 T* indexed) {
  for_each_indexed_row(blocks, idx, n, skip, [dense, indexed, inner = blocks.inner](std::size_t io, std::size_t dof) {
    add_row(dense + dof, indexed + io, inner);
  });
}

// Embedding's weight gradient as ops: gy's [n, dim] rows added at their indices into [rows, dim]
// zeros. Padding positions are masked to zero first, so they give their row nothing at any order.
Tensor embedding_weight_gradient(const Tensor& gy, const Tensor& indices, const AxisBlocks& weight_rows,
                                 long padding_idx) {
  const std::size_t n = indices.numel(), rows = weight_rows.size, dim = weight_rows.inner;
  Tensor per_index = reshape(gy, {n, dim});
  const Tensor flat_indices = reshape(indices, {n});
  if (padding_idx >= 0)
    per_index = masked_fill(per_index, unsqueeze(eq(flat_indices, static_cast<double>(padding_idx)), -1), 0.0);
  return index_add(Tensor::zeros({rows, dim}, gy.dtype()), 0, flat_indices, per_index);
}

}  // namespace

// y[..., :] = weight[indices[...], :];  dweight[indices[...], :] += dy[..., :] (not for padding_idx).
Tensor embedding(const Tensor& weight, const Tensor& indices, long padding_idx) {
  if (weight.dim() != 2)
    throw std::invalid_argument("embedding: weight must be 2-D [rows, dim], got " + to_string(weight.shape()));
  require_int64("embedding", "indices", indices);
  const std::size_t rows = weight.shape()[0], dim = weight.shape()[1];
  const std::string of_rows = std::to_string(rows) + " rows";
  if (padding_idx >= 0 && static_cast<std::size_t>(padding_idx) >= rows)
    throw std::out_of_range("embedding: padding_idx " + std::to_string(padding_idx) + " is out of range for " + of_rows);
  check_indices("embedding", indices, rows, of_rows);
  Shape out_shape = indices.shape();
  out_shape.push_back(dim);
  const AxisBlocks weight_rows{1, rows, dim};
  return dispatch_float(weight.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty(out_shape, weight.dtype());
    pick_rows(weight.data<T>(), weight_rows, indices.data<std::int64_t>(), indices.numel(), y.data<T>());
    return record("embedding", {weight, indices}, y,
                  [indices, weight_rows, padding_idx](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {
        if (g.needs(0)) g.add(0, embedding_weight_gradient(gy, indices, weight_rows, padding_idx));
        return;
      }
      add_rows_at(gy.data<T>(), indices.data<std::int64_t>(), indices.numel(), padding_idx, weight_rows,
                  g.buffer(0).data<T>());
    });
  });
}

// Seen as [outer, size, inner] around the axis: y[o, j, :] = x[o, indices[j], :], and
// dx[o, indices[j], :] += dy[o, j, :] (under create_graph: index_add into zeros).
Tensor index_select(const Tensor& x, long axis, const Tensor& indices) {
  require_int64("index_select", "indices", indices);
  if (indices.dim() != 1)
    throw std::invalid_argument("index_select: indices must be 1-D, got " + to_string(indices.shape()));
  const std::size_t a = normalize_axis(axis, x.dim(), "index_select");
  const AxisBlocks in = blocks_around(x.shape(), a);
  check_indices("index_select", indices, in.size, axis_of_size(a, in.size));
  Shape out_shape = x.shape();
  out_shape[a] = indices.numel();
  Tensor y = Tensor::empty(out_shape, x.dtype());
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    pick_rows(x.data<T>(), in, indices.data<std::int64_t>(), indices.numel(), y.data<T>());
  });
  return record("index_select", {x, indices}, y, [indices, in, a](const Tensor& gy, GradInputs& g) {
    if (g.create_graph()) {
      if (g.needs(0))
        g.add(0, index_add(Tensor::zeros(g.shape(0), gy.dtype()), static_cast<long>(a), indices, gy));
      return;
    }
    if (gy.numel() == 0) return;
    dispatch_float(gy.dtype(), "index_select", [&](auto tag) {
      using T = decltype(tag);
      add_rows_at(gy.data<T>(), indices.data<std::int64_t>(), indices.numel(), -1, in, g.buffer(0).data<T>());
    });
  });
}

// y = x, then y[o, indices[j], :] += source[o, j, :]; dx = dy and dsource[o, j, :] = dy[o, indices[j], :]
// (index_select of dy, which is also the create_graph formula).
Tensor index_add(const Tensor& x, long axis, const Tensor& indices, const Tensor& source) {
  require_int64("index_add", "indices", indices);
  if (indices.dim() != 1)
    throw std::invalid_argument("index_add: indices must be 1-D, got " + to_string(indices.shape()));
  require_same_dtype("index_add", x, source);
  const std::size_t a = normalize_axis(axis, x.dim(), "index_add");
  Shape expected = x.shape();
  expected[a] = indices.numel();
  if (source.shape() != expected)
    throw std::invalid_argument("index_add: source " + to_string(source.shape()) + " does not fit x " +
                                to_string(x.shape()) + " with " + std::to_string(indices.numel()) +
                                " indices along axis " + std::to_string(a) + " (expected " + to_string(expected) + ")");
  const AxisBlocks in = blocks_around(x.shape(), a);
  check_indices("index_add", indices, in.size, axis_of_size(a, in.size));
  Tensor y = x.clone();
  dispatch_float(x.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    add_rows_at(source.data<T>(), indices.data<std::int64_t>(), indices.numel(), -1, in, y.data<T>());
  });
  return record("index_add", {x, indices, source}, y, [indices, in, a](const Tensor& gy, GradInputs& g) {
    g.add(0, gy);  // x passes through unchanged, in either walk
    if (!g.needs(2)) return;
    if (g.create_graph()) {
      g.add(2, index_select(gy, static_cast<long>(a), indices));
      return;
    }
    dispatch_float(gy.dtype(), "index_add", [&](auto tag) {
      using T = decltype(tag);
      bool fresh = false;
      T* dS = g.buffer_to_write(2, fresh).data<T>();
      const T* G = gy.data<T>();
      const std::int64_t* idx = indices.data<std::int64_t>();
      if (fresh) {
        pick_rows(G, in, idx, indices.numel(), dS);
      } else {
        for_each_indexed_row(in, idx, indices.numel(), -1, [G, dS, inner = in.inner](std::size_t io, std::size_t dof) {
          add_row(G + io, dS + dof, inner);
        });
      }
    });
  });
}

namespace {

// Calls visit(x_offset, out_offset) for every element of `index` (shape = gather's output): out
// element p takes x at p's position on every axis but `axis`, where it takes index[p].
template <class Visit>
void for_each_gathered(const Shape& x_shape, std::size_t axis, const Tensor& index, Visit&& visit) {
  std::vector<std::size_t> strides = contiguous_strides(x_shape);
  const std::size_t axis_stride = strides[axis];
  strides[axis] = 0;  // the position along `axis` comes from the index, not from p
  const std::int64_t* idx = index.data<std::int64_t>();
  kernels::for_each_row(index.shape(), strides,
                        [&](std::size_t xo, std::size_t po, std::size_t inner, std::size_t n) {
                          for (std::size_t j = 0; j < n; ++j)
                            visit(xo + j * inner + static_cast<std::size_t>(idx[po + j]) * axis_stride, po + j);
                        });
}

// out[p] = x[place of p] (gather's forward, scatter_add's backward).
template <class T>
void gather_into(const T* x, const Shape& x_shape, std::size_t axis, const Tensor& index, T* out) {
  for_each_gathered(x_shape, axis, index, [x, out](std::size_t xo, std::size_t p) { out[p] = x[xo]; });
}

// x[place of p] += src[p] (scatter_add's forward, gather's raw backward); repeated places sum in order.
template <class T>
void scatter_add_into(const T* src, const Tensor& index, T* x, const Shape& x_shape, std::size_t axis) {
  for_each_gathered(x_shape, axis, index, [src, x](std::size_t xo, std::size_t p) { x[xo] += src[p]; });
}

// The place of gather's and scatter_add's index: x's rank, no larger than x on the other axes, and
// its entries within the axis. Returns the axis.
std::size_t check_gather_index(const char* op, const Tensor& x, long axis, const Tensor& index) {
  require_int64(op, "index", index);
  const std::size_t a = normalize_axis(axis, x.dim(), op);
  bool fits = index.dim() == x.dim();
  for (std::size_t d = 0; fits && d < x.dim(); ++d) fits = d == a || index.shape()[d] <= x.shape()[d];
  if (!fits)
    throw std::invalid_argument(std::string(op) + ": index " + to_string(index.shape()) + " does not fit input " +
                                to_string(x.shape()) + " for axis " + std::to_string(a) +
                                " (same rank, and no larger on any other axis)");
  check_indices(op, index, x.shape()[a], axis_of_size(a, x.shape()[a]));
  return a;
}

}  // namespace

// y[p] = x[p with its `axis` coordinate replaced by index[p]];  dx[that place] += dy[p] (under
// create_graph: scatter_add into zeros).
Tensor gather(const Tensor& x, long axis, const Tensor& index) {
  const std::size_t a = check_gather_index("gather", x, axis, index);
  Tensor y = Tensor::empty(index.shape(), x.dtype());
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gather_into(x.data<T>(), x.shape(), a, index, y.data<T>());
  });
  return record("gather", {x, index}, y, [x_shape = x.shape(), a, index](const Tensor& gy, GradInputs& g) {
    if (g.create_graph()) {
      if (g.needs(0)) g.add(0, scatter_add(Tensor::zeros(x_shape, gy.dtype()), static_cast<long>(a), index, gy));
      return;
    }
    dispatch_float(gy.dtype(), "gather", [&](auto tag) {
      using T = decltype(tag);
      scatter_add_into(gy.data<T>(), index, g.buffer(0).data<T>(), x_shape, a);
    });
  });
}

// y = x, then y[p with its `axis` coordinate replaced by index[p]] += source[p]; dx = dy and
// dsource = gather(dy, axis, index) (also the create_graph formula).
Tensor scatter_add(const Tensor& x, long axis, const Tensor& index, const Tensor& source) {
  require_same_dtype("scatter_add", x, source);
  if (index.shape() != source.shape())
    throw std::invalid_argument("scatter_add: index " + to_string(index.shape()) + " and source " +
                                to_string(source.shape()) + " must have the same shape");
  const std::size_t a = check_gather_index("scatter_add", x, axis, index);
  Tensor y = x.clone();
  dispatch_float(x.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    scatter_add_into(source.data<T>(), index, y.data<T>(), x.shape(), a);
  });
  return record("scatter_add", {x, index, source}, y, [x_shape = x.shape(), a, index](const Tensor& gy, GradInputs& g) {
    g.add(0, gy);  // x passes through unchanged, in either walk
    if (!g.needs(2)) return;
    if (g.create_graph()) {
      g.add(2, gather(gy, static_cast<long>(a), index));
      return;
    }
    dispatch_float(gy.dtype(), "scatter_add", [&](auto tag) {
      using T = decltype(tag);
      bool fresh = false;
      T* dS = g.buffer_to_write(2, fresh).data<T>();
      const T* G = gy.data<T>();
      if (fresh) gather_into(G, x_shape, a, index, dS);
      else for_each_gathered(x_shape, a, index, [G, dS](std::size_t xo, std::size_t p) { dS[p] += G[xo]; });
    });
  });
}

// ---- catalogue ----
// Index tensors are int64 inputs and count in an op's arity.

void register_index_ops(OpCatalogue& c) {
  using In = const std::vector<Tensor>&;
  c.add({"embedding", 2, [](In in) { return embedding(in[0], in[1]); }});
  // No apply for the others: the axis has no default.
  c.add({"index_select", 2});
  c.add({"gather", 2});
  c.add({"index_add", 3});  // x, indices, source
  c.add({"scatter_add", 3});  // x, index, source
}

}  // namespace seqgrad
