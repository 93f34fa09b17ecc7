// Indexing by int64 tensors. Forward picks rows or elements (row picks are memcpy); backward
// scatter-adds the gradient back to where each one came from, in index order, so repeated indices
// sum and results do not depend on threads. Every index is checked once, in the forward, before
// anything is read: the backward reuses the checked indices.
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
  return dispatch_float(weight.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty(out_shape, weight.dtype());
    const T* W = weight.data<T>();
    T* Y = y.data<T>();
    const std::int64_t* idx = indices.data<std::int64_t>();
    if (dim > 0)
      for (std::size_t k = 0, n = indices.numel(); k < n; ++k) std::memcpy(Y + k * dim, W + idx[k] * dim, dim * sizeof(T));
    return record("embedding", {weight, indices}, y, [indices, dim, padding_idx](const Tensor& gy, GradInputs& g) {
      T* dW = g.buffer(0).data<T>();
      const T* G = gy.data<T>();
      const std::int64_t* idx = indices.data<std::int64_t>();
      for (std::size_t k = 0, n = indices.numel(); k < n; ++k)
        if (idx[k] != padding_idx) add_row(G + k * dim, dW + idx[k] * dim, dim);
    });
  });
}

// Seen as [outer, size, inner] around the axis: y[o, j, :] = x[o, indices[j], :], and
// dx[o, indices[j], :] += dy[o, j, :].
Tensor index_select(const Tensor& x, long axis, const Tensor& indices) {
  require_int64("index_select", "indices", indices);
  if (indices.dim() != 1)
    throw std::invalid_argument("index_select: indices must be 1-D, got " + to_string(indices.shape()));
  const std::size_t a = normalize_axis(axis, x.dim(), "index_select");
  const AxisBlocks in = blocks_around(x.shape(), a);
  check_indices("index_select", indices, in.size, axis_of_size(a, in.size));
  const std::size_t n = indices.numel();
  Shape out_shape = x.shape();
  out_shape[a] = n;
  Tensor y = Tensor::empty(out_shape, x.dtype());
  const std::int64_t* idx = indices.data<std::int64_t>();
  if (y.numel() > 0)
    dispatch_any(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* X = x.data<T>();
      T* Y = y.data<T>();
      for (std::size_t o = 0; o < in.outer; ++o)
        for (std::size_t j = 0; j < n; ++j)
          std::memcpy(Y + (o * n + j) * in.inner, X + (o * in.size + idx[j]) * in.inner, in.inner * sizeof(T));
    });
  return record("index_select", {x, indices}, y, [indices, in](const Tensor& gy, GradInputs& g) {
    if (gy.numel() == 0) return;
    dispatch_float(gy.dtype(), "index_select", [&](auto tag) {
      using T = decltype(tag);
      const T* G = gy.data<T>();
      T* dX = g.buffer(0).data<T>();
      const std::int64_t* idx = indices.data<std::int64_t>();
      const std::size_t n = indices.numel();
      for (std::size_t o = 0; o < in.outer; ++o)
        for (std::size_t j = 0; j < n; ++j)
          add_row(G + (o * n + j) * in.inner, dX + (o * in.size + idx[j]) * in.inner, in.inner);
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

}  // namespace

// y[p] = x[p with its `axis` coordinate replaced by index[p]];  dx[that place] += dy[p].
Tensor gather(const Tensor& x, long axis, const Tensor& index) {
  require_int64("gather", "index", index);
  const std::size_t a = normalize_axis(axis, x.dim(), "gather");
  bool fits = index.dim() == x.dim();
  for (std::size_t d = 0; fits && d < x.dim(); ++d) fits = d == a || index.shape()[d] <= x.shape()[d];
  if (!fits)
    throw std::invalid_argument("gather: index " + to_string(index.shape()) + " does not fit input " +
                                to_string(x.shape()) + " for axis " + std::to_string(a) +
                                " (same rank, and no larger on any other axis)");
  check_indices("gather", index, x.shape()[a], axis_of_size(a, x.shape()[a]));
  Tensor y = Tensor::empty(index.shape(), x.dtype());
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* X = x.data<T>();
    T* Y = y.data<T>();
    for_each_gathered(x.shape(), a, index, [&](std::size_t xo, std::size_t p) { Y[p] = X[xo]; });
  });
  return record("gather", {x, index}, y, [x_shape = x.shape(), a, index](const Tensor& gy, GradInputs& g) {
    dispatch_float(gy.dtype(), "gather", [&](auto tag) {
      using T = decltype(tag);
      const T* G = gy.data<T>();
      T* dX = g.buffer(0).data<T>();
      for_each_gathered(x_shape, a, index, [&](std::size_t xo, std::size_t p) { dX[xo] += G[p]; });
    });
  });
}

// ---- catalogue ----
// Index tensors are int64 inputs and count in an op's arity.

void register_index_ops(OpCatalogue& c) {
  using In = const std::vector<Tensor>&;
  c.add({"embedding", 2, [](In in) { return embedding(in[0], in[1]); }});
  c.add({"index_select", 2});  // no apply: the axis has no default
  c.add({"gather", 2});
}

}  // namespace seqgrad
