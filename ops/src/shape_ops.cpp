// Shape ops: moving elements, no arithmetic. Each forward is a copy (or, for reshape and its
// relatives, a view sharing the input's storage) and each backward puts the gradient back where the
// element came from. The copies are whole contiguous blocks (memcpy) wherever the layout allows:
// concat and narrow see a tensor as [outer, axis * inner] rows; permute and broadcast_to walk rows
// with kernels::for_each_row. Forwards accept every dtype (masks and token ids get reshaped,
// concatenated and broadcast too); gradients exist for float32 and float64.
//
// Under create_graph each backward is the inverse shape op itself (reshape back, the inverse
// permutation, narrow for concat, zero padding by concat for narrow), recorded so that it can be
// differentiated again; shape ops are linear, so that is their whole second order.
//
// No xtensor here on purpose: there is no math to vectorize, and this translation unit stays cheap
// to compile.
#include "seqgrad/ops/shape_ops.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/ops/catalogue.hpp"

namespace seqgrad {

namespace {

using kernels::AxisBlocks;
using kernels::blocks_around;

// dst row r (rows `dst_row` elements apart) = src row r (rows `src_row` apart), n elements per row.
template <class T>
void copy_rows(const T* src, std::size_t src_row, T* dst, std::size_t dst_row, std::size_t rows, std::size_t n) {
  if (n == 0) return;
  for (std::size_t r = 0; r < rows; ++r) std::memcpy(dst + r * dst_row, src + r * src_row, n * sizeof(T));
}

// dst row r += src row r, with the same layout as copy_rows.
template <class T>
void add_rows(const T* src, std::size_t src_row, T* dst, std::size_t dst_row, std::size_t rows, std::size_t n) {
  for (std::size_t r = 0; r < rows; ++r) {
    const T* s = src + r * src_row;
    T* d = dst + r * dst_row;
    for (std::size_t j = 0; j < n; ++j) d[j] += s[j];
  }
}

// dst (contiguous, `shape`) = src read with `src_strides` (one per dimension of shape; 0 repeats).
template <class T>
void copy_strided(const T* src, const std::vector<std::size_t>& src_strides, T* dst, const Shape& shape) {
  kernels::for_each_row(shape, src_strides, [&](std::size_t so, std::size_t dof, std::size_t stride, std::size_t n) {
    const T* s = src + so;
    T* d = dst + dof;
    if (stride == 1) {
      std::memcpy(d, s, n * sizeof(T));
    } else {
      for (std::size_t j = 0; j < n; ++j) d[j] = s[j * stride];
    }
  });
}

// The reverse of copy_strided for strides that visit each element of dst once (a permutation):
// dst at the strided places += src (contiguous, `shape`), or = src when `assign` (a fresh dst: every
// element is written, so it needs no zeros first).
template <bool assign, class T>
void scatter_strided(const T* src, const Shape& shape, T* dst, const std::vector<std::size_t>& dst_strides) {
  kernels::for_each_row(shape, dst_strides, [&](std::size_t dof, std::size_t so, std::size_t stride, std::size_t n) {
    const T* s = src + so;
    T* d = dst + dof;
    for (std::size_t j = 0; j < n; ++j) {
      if constexpr (assign) d[j * stride] = s[j];
      else d[j * stride] += s[j];
    }
  });
}

// y shares x's data under another shape; the gradient is gy read back in x's shape. The one
// implementation of reshape, unsqueeze and squeeze (numel is checked by the callers).
Tensor view_as(const char* op, const Tensor& x, const Shape& shape) {
  Tensor y = x.reshaped_view(shape);
  return record(op, {x}, y, [x_shape = x.shape()](const Tensor& gy, GradInputs& g) {
    if (g.create_graph()) {
      if (g.needs(0)) g.add(0, reshape(gy, x_shape));
      return;
    }
    g.pass_on(0, gy);  // the walk's gradient, reshaped: its buffer, not a copy, when nothing else holds it
  });
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  if (numel(shape) != x.numel())
    throw std::invalid_argument("reshape: cannot reshape " + to_string(x.shape()) + " (" +
                                std::to_string(x.numel()) + " elements) to " + to_string(shape) + " (" +
                                std::to_string(numel(shape)) + " elements)");
  return view_as("reshape", x, shape);
}

Tensor reshape_infer(const Tensor& x, const std::vector<long>& shape) {
  auto fail = [&](const std::string& why) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return std::invalid_argument("reshape_infer: cannot reshape " + to_string(x.shape()) + " to " + s + "]: " + why);
  };
  Shape out(shape.size());
  std::size_t known = 1;
  long inferred = -1;  // the position of the -1
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (inferred >= 0) throw fail("only one dimension may be -1");
      inferred = static_cast<long>(i);
    } else if (shape[i] < 0) {
      throw fail("dimension " + std::to_string(i) + " is negative");
    } else {
      out[i] = static_cast<std::size_t>(shape[i]);
      known *= out[i];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || x.numel() % known != 0)
      throw fail(std::to_string(x.numel()) + " elements do not divide into blocks of " + std::to_string(known));
    out[static_cast<std::size_t>(inferred)] = x.numel() / known;
  } else if (known != x.numel()) {
    throw fail(std::to_string(x.numel()) + " elements do not fill " + std::to_string(known));
  }
  return view_as("reshape", x, out);
}

namespace {

// The place of a new axis: one more position than x has axes.
std::size_t new_axis_position(long axis, std::size_t rank, const char* op) {
  const long r = static_cast<long>(rank);
  if (axis < -(r + 1) || axis > r)
    throw std::invalid_argument(std::string(op) + ": axis " + std::to_string(axis) +
                                " is out of range for a new axis of a tensor of rank " + std::to_string(rank) +
                                " (valid: " + std::to_string(-(r + 1)) + " to " + std::to_string(r) + ")");
  return static_cast<std::size_t>(axis < 0 ? axis + r + 1 : axis);
}

}  // namespace

Tensor unsqueeze(const Tensor& x, long axis) {
  const std::size_t a = new_axis_position(axis, x.dim(), "unsqueeze");
  Shape shape = x.shape();
  shape.insert(shape.begin() + static_cast<long>(a), 1);
  return view_as("unsqueeze", x, shape);
}

Tensor squeeze(const Tensor& x, long axis) {
  const std::size_t a = normalize_axis(axis, x.dim(), "squeeze");
  if (x.shape()[a] != 1)
    throw std::invalid_argument("squeeze: dimension " + std::to_string(a) + " of " + to_string(x.shape()) +
                                " has size " + std::to_string(x.shape()[a]) + ", not 1");
  Shape shape = x.shape();
  shape.erase(shape.begin() + static_cast<long>(a));
  return view_as("squeeze", x, shape);
}

// Output dimension k is input dimension order[k]: y is x read with x's strides taken in `order`.
// The backward adds gy back through the same strides, which applies the inverse permutation
// without a temporary; under create_graph it is the permute by the inverse order.
Tensor permute(const Tensor& x, const std::vector<std::size_t>& order) {
  const std::size_t rank = x.dim();
  std::vector<bool> seen(rank, false);
  bool ok = order.size() == rank;
  for (std::size_t k = 0; ok && k < rank; ++k) {
    ok = order[k] < rank && !seen[order[k]];
    if (ok) seen[order[k]] = true;
  }
  if (!ok)
    throw std::invalid_argument("permute: order " + to_string(order) + " is not a permutation of the " +
                                std::to_string(rank) + " axes of " + to_string(x.shape()));
  const auto x_strides = contiguous_strides(x.shape());
  Shape out_shape(rank);
  std::vector<std::size_t> read_strides(rank);  // x's stride for each output dimension
  for (std::size_t k = 0; k < rank; ++k) {
    out_shape[k] = x.shape()[order[k]];
    read_strides[k] = x_strides[order[k]];
  }
  Tensor y = Tensor::empty(out_shape, x.dtype());
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    copy_strided(x.data<T>(), read_strides, y.data<T>(), out_shape);
  });
  // The closure keeps the order, for create_graph's inverse permute; out_shape is gy's shape.
  return record("permute", {x}, y, [order, read_strides](const Tensor& gy, GradInputs& g) {
    if (g.create_graph()) {
      if (!g.needs(0)) return;
      std::vector<std::size_t> inverse(order.size());
      for (std::size_t k = 0; k < order.size(); ++k) inverse[order[k]] = k;
      g.add(0, permute(gy, inverse));
      return;
    }
    dispatch_float(gy.dtype(), "permute", [&](auto tag) {
      using T = decltype(tag);
      bool fresh;
      T* dx = g.buffer_to_write(0, fresh).template data<T>();
      if (fresh) scatter_strided<true>(gy.data<T>(), gy.shape(), dx, read_strides);
      else scatter_strided<false>(gy.data<T>(), gy.shape(), dx, read_strides);
    });
  });
}

Tensor transpose(const Tensor& x, long dim0, long dim1) {
  const std::size_t a = normalize_axis(dim0, x.dim(), "transpose"), b = normalize_axis(dim1, x.dim(), "transpose");
  std::vector<std::size_t> order(x.dim());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::swap(order[a], order[b]);
  return permute(x, order);
}

// y = x repeated along the broadcast dimensions; dx = dy summed over them.
Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  if (x.dim() > shape.size() || broadcast_shapes(x.shape(), shape, "broadcast_to") != shape)
    throw std::invalid_argument("broadcast_to: cannot broadcast " + to_string(x.shape()) + " to " + to_string(shape));
  Tensor y = Tensor::empty(shape, x.dtype());
  dispatch_any(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    copy_strided(x.data<T>(), kernels::broadcast_strides(x.shape(), shape), y.data<T>(), shape);
  });
  return record("broadcast_to", {x}, y, [x_shape = x.shape()](const Tensor& gy, GradInputs& g) {
    if (g.create_graph()) {
      g.add(0, gy);  // add() sums the broadcast dimensions back to x's shape, recorded
      return;
    }
    dispatch_float(gy.dtype(), "broadcast_to", [&](auto tag) {
      using T = decltype(tag);
      kernels::sum_to_shape_add(gy.data<T>(), gy.shape(), g.buffer(0).data<T>(), x_shape);
    });
  });
}

// Seen as [outer, size_i * inner] rows, input i fills columns [offset_i, offset_i + size_i * inner)
// of each output row; its gradient is that column block of gy (under create_graph, gy narrowed to
// input i's part of the axis).
Tensor concat(const std::vector<Tensor>& xs, long axis) {
  if (xs.empty()) throw std::invalid_argument("concat: no tensors to join");
  const Tensor& first = xs[0];
  const std::size_t a = normalize_axis(axis, first.dim(), "concat");
  Shape out_shape = first.shape();
  out_shape[a] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& t = xs[i];
    if (t.dtype() != first.dtype())
      throw std::invalid_argument("concat: tensor " + std::to_string(i) + " is " + dtype_name(t.dtype()) +
                                  " but tensor 0 is " + dtype_name(first.dtype()));
    bool fits = t.dim() == first.dim();
    for (std::size_t d = 0; fits && d < t.dim(); ++d) fits = d == a || t.shape()[d] == first.shape()[d];
    if (!fits)
      throw std::invalid_argument("concat: cannot join " + to_string(first.shape()) + " (tensor 0) and " +
                                  to_string(t.shape()) + " (tensor " + std::to_string(i) + ") along axis " +
                                  std::to_string(a) + ": every other dimension must match");
    out_shape[a] += t.shape()[a];
  }
  const AxisBlocks out = blocks_around(out_shape, a);
  const std::size_t out_row = out.size * out.inner;
  std::vector<std::size_t> offset(xs.size()), width(xs.size());  // per input, in elements of a row
  for (std::size_t i = 0, at = 0; i < xs.size(); ++i) {
    offset[i] = at;
    width[i] = xs[i].shape()[a] * out.inner;
    at += width[i];
  }
  Tensor y = Tensor::empty(out_shape, first.dtype());
  if (y.numel() > 0)
    dispatch_any(first.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (std::size_t i = 0; i < xs.size(); ++i)
        copy_rows(xs[i].data<T>(), width[i], y.data<T>() + offset[i], out_row, out.outer, width[i]);
    });
  return record("concat", xs, y,
                [offset, width, outer = out.outer, out_row, a, inner = out.inner](const Tensor& gy, GradInputs& g) {
    if (gy.numel() == 0) return;
    if (g.create_graph()) {  // inner > 0, as gy has elements
      for (std::size_t i = 0; i < g.size(); ++i)
        if (g.needs(i)) g.add(i, narrow(gy, static_cast<long>(a), offset[i] / inner, width[i] / inner));
      return;
    }
    dispatch_float(gy.dtype(), "concat", [&](auto tag) {
      using T = decltype(tag);
      for (std::size_t i = 0; i < g.size(); ++i)
        if (g.needs(i)) add_rows(gy.data<T>() + offset[i], out_row, g.buffer(i).data<T>(), width[i], outer, width[i]);
    });
  });
}

Tensor stack(const std::vector<Tensor>& xs, long axis) {
  if (xs.empty()) throw std::invalid_argument("stack: no tensors to stack");
  for (std::size_t i = 1; i < xs.size(); ++i)
    if (xs[i].shape() != xs[0].shape())
      throw std::invalid_argument("stack: tensor " + std::to_string(i) + " has shape " + to_string(xs[i].shape()) +
                                  " but tensor 0 has " + to_string(xs[0].shape()));
  const long a = static_cast<long>(new_axis_position(axis, xs[0].dim(), "stack"));
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const Tensor& x : xs) parts.push_back(unsqueeze(x, a));
  return concat(parts, a);
}

namespace {

// gy placed at [start, start + gy's size) along `axis` of zeros `size` long there: narrow's gradient
// as ops (concat's backward is narrow again, so this differentiates to any order).
Tensor zero_padded(const Tensor& gy, std::size_t axis, std::size_t start, std::size_t size) {
  std::vector<Tensor> parts;
  auto zeros_along = [&](std::size_t n) {
    Shape s = gy.shape();
    s[axis] = n;
    parts.push_back(Tensor::zeros(s, gy.dtype()));
  };
  const std::size_t end = start + gy.shape()[axis];
  if (start > 0) zeros_along(start);
  parts.push_back(gy);
  if (end < size) zeros_along(size - end);
  return parts.size() == 1 ? gy : concat(parts, static_cast<long>(axis));
}

}  // namespace

// Seen as [outer, size * inner] rows, y is columns [start * inner, (start + length) * inner) of x.
Tensor narrow(const Tensor& x, long axis, std::size_t start, std::size_t length) {
  const std::size_t a = normalize_axis(axis, x.dim(), "narrow");
  const AxisBlocks in = blocks_around(x.shape(), a);
  if (start > in.size || length > in.size - start)
    throw std::out_of_range("narrow: start " + std::to_string(start) + " and length " + std::to_string(length) +
                            " do not fit in axis " + std::to_string(a) + " of size " + std::to_string(in.size) +
                            " (shape " + to_string(x.shape()) + ")");
  Shape out_shape = x.shape();
  out_shape[a] = length;
  const std::size_t x_row = in.size * in.inner, y_row = length * in.inner, skip = start * in.inner;
  Tensor y = Tensor::empty(out_shape, x.dtype());
  if (y.numel() > 0)
    dispatch_any(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      copy_rows(x.data<T>() + skip, x_row, y.data<T>(), y_row, in.outer, y_row);
    });
  return record("narrow", {x}, y, [outer = in.outer, x_row, y_row, skip, a, start](const Tensor& gy, GradInputs& g) {
    if (gy.numel() == 0) return;
    if (g.create_graph()) {
      if (g.needs(0)) g.add(0, zero_padded(gy, a, start, g.shape(0)[a]));
      return;
    }
    dispatch_float(gy.dtype(), "narrow", [&](auto tag) {
      using T = decltype(tag);
      bool fresh;
      T* dx = g.buffer_to_write(0, fresh).template data<T>();
      if (!fresh) return add_rows(gy.data<T>(), y_row, dx + skip, x_row, outer, y_row);
      for (std::size_t r = 0; r < outer; ++r) {  // zeros around the slice, gy in it: one pass
        T* row = dx + r * x_row;
        std::fill(row, row + skip, T(0));
        std::memcpy(row + skip, gy.data<T>() + r * y_row, y_row * sizeof(T));
        std::fill(row + skip + y_row, row + x_row, T(0));
      }
    });
  });
}

std::vector<Tensor> split(const Tensor& x, std::size_t size, long axis) {
  const std::size_t a = normalize_axis(axis, x.dim(), "split");
  if (size == 0) throw std::invalid_argument("split: chunk size must be positive, got 0");
  const std::size_t n = x.shape()[a];
  if (n == 0) return {narrow(x, axis, 0, 0)};  // as torch.split: one empty chunk
  std::vector<Tensor> chunks;
  for (std::size_t start = 0; start < n; start += size) chunks.push_back(narrow(x, axis, start, std::min(size, n - start)));
  return chunks;
}

// Between float dtypes y = T_out(x) and dx = T_in(dy) (under create_graph, the cast op back).
// Other conversions carry no gradient.
Tensor cast(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor y = x.to(dtype);
  if (!is_floating(x.dtype()) || !is_floating(dtype)) return y;
  return record("cast", {x}, y, [x_dtype = x.dtype()](const Tensor& gy, GradInputs& g) {
    if (g.create_graph()) {
      if (g.needs(0)) g.add(0, cast(gy, x_dtype));
      return;
    }
    Tensor& gx = g.buffer(0);
    dispatch_float(gx.dtype(), "cast", [&](auto in_tag) {
      using In = decltype(in_tag);
      dispatch_float(gy.dtype(), "cast", [&](auto out_tag) {
        using Out = decltype(out_tag);
        In* d = gx.data<In>();
        const Out* s = gy.data<Out>();
        for (std::size_t i = 0, n = gx.numel(); i < n; ++i) d[i] += static_cast<In>(s[i]);
      });
    });
  });
}

// ---- catalogue ----

void register_shape_ops(OpCatalogue& c) {
  // No apply: every shape op but cast takes a shape or an axis, which has no default; split gives
  // several tensors; cast takes the dtype.
  for (const char* name : {"reshape", "reshape_infer", "permute", "transpose", "unsqueeze", "squeeze",
                           "broadcast_to", "narrow", "split", "cast"})
    c.add({name, 1});
  c.add({"concat", OpEntry::any_arity});
  c.add({"stack", OpEntry::any_arity});
}

}  // namespace seqgrad
