// Reductions and the row normalisers. sum/mean/max work over any set of axes through one shared
// plan (the kept-dims shape of the result); softmax, log_softmax and logsumexp are hand-written row
// loops (xtensor 0.24's lazy reducers are slow, and broadcasting one overflowed a heap buffer under
// ASan: xtensor issues 2737 and 2871), with the row's
// exp vectorized through xsimd.
#include "seqgrad/ops/reduce.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/catalogue.hpp"
#include "seqgrad/ops/elementwise.hpp"
#include "seqgrad/ops/shape_ops.hpp"
#include "xt_bridge.hpp"

namespace seqgrad {

namespace {

// What reducing `shape` over `axes` gives: `kept` has size 1 at every reduced axis (the shape the
// gradient broadcasts back from), `out` is the result's shape, `count` how many inputs each output sums.
struct ReducePlan {
  Shape kept, out;
  std::size_t count = 1;
};

ReducePlan plan_reduction(const char* op, const Shape& shape, const Axes& axes, bool keepdim) {
  std::vector<bool> reduced(shape.size(), axes.empty());
  for (long a : axes) {
    const std::size_t ax = normalize_axis(a, shape.size(), op);
    if (reduced[ax])
      throw std::invalid_argument(std::string(op) + ": axis " + std::to_string(a) + " is given twice for shape " +
                                  to_string(shape));
    reduced[ax] = true;
  }
  ReducePlan p;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (reduced[i]) {
      if (shape[i] == 0)
        throw std::invalid_argument(std::string(op) + ": cannot reduce the empty axis " + std::to_string(i) +
                                    " of " + to_string(shape));
      p.count *= shape[i];
      p.kept.push_back(1);
      if (keepdim) p.out.push_back(1);
    } else {
      p.kept.push_back(shape[i]);
      p.out.push_back(shape[i]);
    }
  }
  return p;
}

using AxisView = kernels::AxisBlocks;
constexpr auto axis_view = kernels::blocks_around;

Shape drop_axis(Shape shape, std::size_t axis, bool keepdim) {
  if (keepdim) shape[axis] = 1;
  else shape.erase(shape.begin() + static_cast<long>(axis));
  return shape;
}

// Calls body(first_row, end_row) over [0, rows): in parallel blocks of rows when the rows hold many
// elements. Rows are independent, so the result does not depend on the split.
template <class F>
void for_row_blocks(std::size_t rows, std::size_t row_size, F&& body) {
  constexpr std::size_t grain = std::size_t{1} << 15;  // elements per block
  const std::size_t rows_per_block = std::max<std::size_t>(1, grain / std::max<std::size_t>(1, row_size));
  if (rows <= rows_per_block) body(std::size_t{0}, rows);
  else parallel_blocks(rows, rows_per_block, body);
}

template <class T>
auto row(T* p, std::size_t n) {
  return xt::adapt(p, n, xt::no_ownership(), std::array<std::size_t, 1>{n});
}

// Calls f(line, row_in, row_out, n) for each line (numbered in the reduced result's order) along the last axis, or, for an inner axis, on a
// gathered copy of each strided line (then scattered back), so the row loops below serve any axis.
template <class T, class F>
void for_each_line(const Tensor& in, Tensor& out, std::size_t axis, F&& f) {
  const AxisView v = axis_view(in.shape(), axis);
  const T* x = in.data<T>();
  T* y = out.data<T>();
  if (v.inner == 1) {
    for_row_blocks(v.outer, v.size, [&](std::size_t begin, std::size_t end) {
      for (std::size_t o = begin; o < end; ++o) f(o, x + o * v.size, y + o * v.size, v.size);
    });
    return;
  }
  std::vector<T> line_in(v.size), line_out(v.size);
  for (std::size_t o = 0; o < v.outer; ++o)
    for (std::size_t i = 0; i < v.inner; ++i) {
      const std::size_t base = o * v.size * v.inner + i;
      for (std::size_t j = 0; j < v.size; ++j) line_in[j] = x[base + j * v.inner];
      f(o * v.inner + i, line_in.data(), line_out.data(), v.size);
      for (std::size_t j = 0; j < v.size; ++j) y[base + j * v.inner] = line_out[j];
    }
}

// The backward of a row normaliser along `axis`: per line, acc = sum_k reduce(y_k, dy_k), then
// dx_k += update(y_k, dy_k, acc). Lines are independent, so blocks of them run on the cores.
template <class T, class Reduce, class Update>
void backward_along_lines(const Tensor& y, const Tensor& gy, Tensor& gx, std::size_t axis, Reduce reduce, Update update) {
  const AxisView v = axis_view(y.shape(), axis);
  const T *ys = y.data<T>(), *gys = gy.data<T>();
  T* gxs = gx.data<T>();
  for_row_blocks(v.outer, v.size * v.inner, [&](std::size_t begin, std::size_t end) {
    for (std::size_t o = begin; o < end; ++o)
      for (std::size_t i = 0; i < v.inner; ++i) {
        const std::size_t base = o * v.size * v.inner + i;
        T acc = 0;
        for (std::size_t j = 0; j < v.size; ++j) acc += reduce(ys[base + j * v.inner], gys[base + j * v.inner]);
        for (std::size_t j = 0; j < v.size; ++j) {
          const std::size_t k = base + j * v.inner;
          gxs[k] += update(ys[k], gys[k], acc);
        }
      }
  });
}

// Largest element of a row; -inf for a row of -infs.
template <class T>
T row_max(const T* x, std::size_t n) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

// y = exp(x - m) over a row; returns the sum. A row of -infs (m = -inf) gives zeros.
template <class T>
T exp_shifted(const T* x, T* y, std::size_t n, T m) {
  if (m == -std::numeric_limits<T>::infinity()) {
    std::fill(y, y + n, T(0));
    return T(0);
  }
  xt::noalias(row(y, n)) = xt::exp(row(const_cast<T*>(x), n) - m);
  T s = 0;
  for (std::size_t j = 0; j < n; ++j) s += y[j];
  return s;
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdim) {
  const ReducePlan p = plan_reduction("sum", x.shape(), axes, keepdim);
  return dispatch_float(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::zeros(p.out, x.dtype());
    kernels::sum_to_shape_add(x.data<T>(), x.shape(), y.data<T>(), p.kept);
    return record("sum", {x}, y, [kept = p.kept](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) return g.add(0, detail::expand_to(reshape(gy, kept), g.shape(0)));
      Tensor& gx = g.buffer(0);
      kernels::broadcast_add(gy.data<T>(), kept, gx.data<T>(), gx.shape());  // dx = broadcast(dy)
    });
  });
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdim) {
  const ReducePlan p = plan_reduction("mean", x.shape(), axes, keepdim);
  return affine(sum(x, axes, keepdim), 1.0 / static_cast<double>(p.count), 0.0);
}

Tensor var(const Tensor& x, const Axes& axes, bool keepdim, bool unbiased) {
  const ReducePlan p = plan_reduction("var", x.shape(), axes, keepdim);
  if (unbiased && p.count < 2)
    throw std::invalid_argument("var: the unbiased variance needs at least 2 elements per result, " +
                                to_string(x.shape()) + " gives " + std::to_string(p.count));
  // var = sum((x - mean)^2) / (N - ddof): composed, so its gradient 2 (x - mean) / (N - ddof) comes for free.
  const Tensor centred = x - mean(x, axes, /*keepdim=*/true);
  const double ddof = unbiased ? 1.0 : 0.0;
  return affine(sum(centred * centred, axes, keepdim), 1.0 / (static_cast<double>(p.count) - ddof), 0.0);
}

Tensor max(const Tensor& x, const Axes& axes, bool keepdim) {
  ReducePlan p = plan_reduction("max", x.shape(), axes, keepdim);  // not const: the backward takes p.kept
  return dispatch_float(x.dtype(), "max", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::full(p.out, -std::numeric_limits<double>::infinity(), x.dtype());
    // For each result, the flat index of its (first) largest input: the gradient goes there alone.
    auto argmax = std::make_shared<std::vector<std::size_t>>(numel(p.out), 0);
    std::vector<bool> seen(numel(p.out), false);
    const T* xs = x.data<T>();
    T* ys = y.data<T>();
    kernels::for_each_row(x.shape(), kernels::broadcast_strides(p.kept, x.shape()),
                          [&](std::size_t so, std::size_t bo, std::size_t inner, std::size_t n) {
                            for (std::size_t j = 0; j < n; ++j) {
                              const std::size_t o = so + j * inner;
                              const T v = xs[bo + j];
                              // The first largest wins; a NaN wins over numbers (it propagates, as in torch).
                              if (!seen[o] || v > ys[o] || (std::isnan(v) && !std::isnan(ys[o]))) {
                                ys[o] = v;
                                (*argmax)[o] = bo + j;
                                seen[o] = true;
                              }
                            }
                          });
    return record("max", {x}, y, [argmax, kept = std::move(p.kept)](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {
        // dx = dy at each result's argmax, zero elsewhere: the places are constants of the graph.
        Tensor at_argmax = Tensor::zeros(g.shape(0), DType::b8);
        for (std::size_t k : *argmax) at_argmax.data<bool>()[k] = true;
        return g.add(0, where(at_argmax, reshape(gy, kept), Tensor::scalar(0.0, gy.dtype())));
      }
      T* gx = g.buffer(0).data<T>();
      const T* d = gy.data<T>();
      for (std::size_t o = 0; o < argmax->size(); ++o) gx[(*argmax)[o]] += d[o];
    });
  });
}

Tensor argmax(const Tensor& x, long axis, bool keepdim) {
  const std::size_t a = normalize_axis(axis, x.shape().size(), "argmax");
  if (x.shape()[a] == 0) throw std::invalid_argument("argmax: axis " + std::to_string(axis) + " of " +
                                                     to_string(x.shape()) + " is empty");
  const AxisView v = axis_view(x.shape(), a);
  Tensor out = Tensor::empty(drop_axis(x.shape(), a, keepdim), DType::i64);
  std::int64_t* idx = out.data<std::int64_t>();
  dispatch_float(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    const T* xs = x.data<T>();
    for (std::size_t o = 0; o < v.outer; ++o)
      for (std::size_t i = 0; i < v.inner; ++i) {
        const T* line = xs + o * v.size * v.inner + i;
        std::size_t best = 0;
        for (std::size_t j = 1; j < v.size; ++j)
          if (line[j * v.inner] > line[best * v.inner]) best = j;
        idx[o * v.inner + i] = static_cast<std::int64_t>(best);
      }
  });
  return out;
}

Tensor logsumexp(const Tensor& x, long axis, bool keepdim) {
  const std::size_t a = normalize_axis(axis, x.shape().size(), "logsumexp");
  if (x.shape()[a] == 0) throw std::invalid_argument("logsumexp: axis " + std::to_string(axis) + " of " +
                                                     to_string(x.shape()) + " is empty");
  return dispatch_float(x.dtype(), "logsumexp", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty(drop_axis(x.shape(), a, keepdim), x.dtype());
    Tensor scratch = Tensor::empty_like(x);
    T* ys = y.data<T>();
    // y = m + log(sum exp(x - m)), m the line's max: no overflow for large x.
    for_each_line<T>(x, scratch, a, [&](std::size_t line, const T* xr, T* er, std::size_t n) {
      const T m = row_max(xr, n);
      const T s = exp_shifted(xr, er, n, m);
      ys[line] = s == T(0) ? m : m + std::log(s);
    });
    return record("logsumexp", {x}, y, [x, y = y.detach(), a, keepdim](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {
        const long axis = static_cast<long>(a);
        const Tensor y_kept = keepdim ? g.output(y) : unsqueeze(g.output(y), axis);
        Tensor shifted = x - y_kept;
        // A line of -infs has y = -inf and gets no gradient, as below (x - y would be NaN there).
        const T* ys = y.data<T>();
        if (std::find(ys, ys + y.numel(), -std::numeric_limits<T>::infinity()) != ys + y.numel())
          shifted = masked_fill(shifted, eq(y_kept, -std::numeric_limits<double>::infinity()),
                                -std::numeric_limits<double>::infinity());
        return g.add(0, (keepdim ? gy : unsqueeze(gy, axis)) * exp(shifted));  // dy * exp(x - y)
      }
      // dx = dy * exp(x - y) = dy * softmax(x)
      const AxisView v = axis_view(x.shape(), a);
      const T *xs = x.data<T>(), *ys = y.data<T>(), *gys = gy.data<T>();
      T* gx = g.buffer(0).data<T>();
      for (std::size_t o = 0; o < v.outer; ++o)
        for (std::size_t j = 0; j < v.size; ++j)
          for (std::size_t i = 0; i < v.inner; ++i) {
            const std::size_t k = (o * v.size + j) * v.inner + i, r = o * v.inner + i;
            if (ys[r] != -std::numeric_limits<T>::infinity()) gx[k] += gys[r] * std::exp(xs[k] - ys[r]);
          }
    });
  });
}

Tensor softmax(const Tensor& x, long axis) {
  const std::size_t a = normalize_axis(axis, x.shape().size(), "softmax");
  return dispatch_float(x.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty_like(x);
    // y = exp(x - max) / sum; a line of -infs (everything masked) gives zeros, not NaN.
    for_each_line<T>(x, y, a, [](std::size_t, const T* xr, T* yr, std::size_t n) {
      const T s = exp_shifted(xr, yr, n, row_max(xr, n));
      if (s > T(0)) {
        const T inv = T(1) / s;
        for (std::size_t j = 0; j < n; ++j) yr[j] *= inv;
      }
    });
    return record("softmax", {x}, y, [y = y.detach(), a](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {
        const Tensor out = g.output(y);
        return g.add(0, out * (gy - sum(gy * out, {static_cast<long>(a)}, /*keepdim=*/true)));
      }
      // dx = y * (dy - sum(dy * y))
      backward_along_lines<T>(y, gy, g.buffer(0), a, [](T yk, T gk) { return gk * yk; },
                              [](T yk, T gk, T dot) { return yk * (gk - dot); });
    });
  });
}

Tensor log_softmax(const Tensor& x, long axis) {
  const std::size_t a = normalize_axis(axis, x.shape().size(), "log_softmax");
  return dispatch_float(x.dtype(), "log_softmax", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty_like(x);
    // y = x - max - log(sum exp(x - max))
    for_each_line<T>(x, y, a, [](std::size_t, const T* xr, T* yr, std::size_t n) {
      const T m = row_max(xr, n);
      const T lse = m + std::log(exp_shifted(xr, yr, n, m));
      for (std::size_t j = 0; j < n; ++j) yr[j] = xr[j] - lse;
    });
    return record("log_softmax", {x}, y, [y = y.detach(), a](const Tensor& gy, GradInputs& g) {
      if (g.create_graph())
        return g.add(0, gy - exp(g.output(y)) * sum(gy, {static_cast<long>(a)}, /*keepdim=*/true));
      // dx = dy - exp(y) * sum(dy)
      backward_along_lines<T>(y, gy, g.buffer(0), a, [](T, T gk) { return gk; },
                              [](T yk, T gk, T total) { return gk - std::exp(yk) * total; });
    });
  });
}

void register_reduce_ops(OpCatalogue& c) {
  using In = const std::vector<Tensor>&;
  c.add({"sum", 1, [](In in) { return sum(in[0]); }});
  c.add({"mean", 1, [](In in) { return mean(in[0]); }});
  c.add({"max", 1, [](In in) { return max(in[0]); }});
  c.add({"var", 1, [](In in) { return var(in[0]); }});
  c.add({"logsumexp", 1});  // no apply: the axis has no default
  c.add({"softmax", 1, [](In in) { return softmax(in[0]); }});
  c.add({"log_softmax", 1, [](In in) { return log_softmax(in[0]); }});
}

}  // namespace seqgrad
