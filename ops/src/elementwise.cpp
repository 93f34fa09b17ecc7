// Elementwise ops: each one line of forward math and one line of gradient, like a derivatives table.
// The shared machinery (dtype dispatch, broadcasting, summing gradients back to an input's shape,
// recording) lives in unary() and binary() below, once for all of them.
#include "seqgrad/ops/elementwise.hpp"

#include <cmath>
#include <functional>
#include <numbers>

#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/catalogue.hpp"
#include "xt_bridge.hpp"

namespace seqgrad {

namespace {

void require_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw std::invalid_argument(std::string(op) + ": dtypes differ (" + dtype_name(a.dtype()) + " " +
                                to_string(a.shape()) + " and " + dtype_name(b.dtype()) + " " +
                                to_string(b.shape()) + ")");
}

// Large flat loops are split into fixed blocks run on the cores (each element is computed alone,
// so the result does not depend on the split); small ones run inline.
constexpr std::size_t kParallelGrain = std::size_t{1} << 15;

template <class F>
void for_blocks(std::size_t n, F&& body) {
  if (n < 2 * kParallelGrain) body(std::size_t{0}, n);
  else parallel_blocks(n, kParallelGrain, body);
}

// dest = expr into a fresh gradient buffer (GradInputs::buffer_to_write), else dest += expr.
template <class Dest, class Expr>
void write_or_add(Dest&& dest, const Expr& expr, bool fresh) {
  if (fresh) xt::noalias(dest) = expr;
  else xt::noalias(dest) += expr;
}

// y = forward(x); dx += backward(gy, x, y). Formulas receive a T{} tag so constants are typed.
template <class Fwd, class Bwd>
Tensor unary(const char* op, const Tensor& x, Fwd forward, Bwd backward) {
  return dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty_like(x);
    for_blocks(x.numel(), [&](std::size_t b, std::size_t e) {
      xt::noalias(xtb::flat<T>(y, b, e)) = forward(T{}, xtb::flat<T>(x, b, e));
    });
    return record(op, {x}, y, [x, y = y.detach(), backward](const Tensor& gy, GradInputs& g) {
      bool fresh;
      Tensor& gx = g.buffer_to_write(0, fresh);
      for_blocks(x.numel(), [&](std::size_t b, std::size_t e) {
        // the adaptors are named: the formula's lazy expression refers to them
        const auto dy = xtb::flat<T>(gy, b, e), xs = xtb::flat<T>(x, b, e), ys = xtb::flat<T>(y, b, e);
        write_or_add(xtb::flat<T>(gx, b, e), backward(T{}, dy, xs, ys), fresh);
      });
    });
  });
}

// x's values broadcast to `shape`, contiguous: x itself when it has that shape already.
template <class T>
Tensor expanded(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Tensor full = Tensor::empty(shape, x.dtype());
  kernels::broadcast_rows(x.data<T>(), x.shape(), full.data<T>(), shape);
  return full;
}

// Where input i's gradient is written: its own buffer when it has the output's shape, else a
// scratch buffer of the output's shape (always fresh) for sum_back() to sum into the input's.
template <class T>
T* gradient_target(GradInputs& g, std::size_t i, const Shape& out, Tensor& scratch, bool& fresh) {
  if (!g.needs(i)) return nullptr;
  if (g.shape(i) == out) return g.buffer_to_write(i, fresh).template data<T>();
  scratch = Tensor::empty(out, g.buffer(i).dtype());
  fresh = true;
  return scratch.data<T>();
}

template <class T>
void sum_back(GradInputs& g, std::size_t i, const Tensor& scratch) {
  if (scratch.defined()) kernels::sum_to_shape_add(scratch.data<T>(), scratch.shape(), g.buffer(i).data<T>(), g.shape(i));
}

// y = forward(a, b) with broadcasting; da += grad_a(gy, a, b), db += grad_b(gy, a, b), each summed
// back to its input's shape. A broadcast input is expanded to the result's shape first, so that
// one flat, vectorized loop serves every case: the formulas are instantiated once per element
// type, not once more for xtensor's n-dimensional broadcasting (which took minutes to compile).
template <class Fwd, class GradA, class GradB>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, Fwd forward, GradA grad_a, GradB grad_b) {
  require_same_dtype(op, a, b);
  const Shape out = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), op);
  return dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const Tensor fa = expanded<T>(a, out), fb = expanded<T>(b, out);
    Tensor y = Tensor::empty(out, a.dtype());
    for_blocks(y.numel(), [&](std::size_t s, std::size_t e) {
      xt::noalias(xtb::flat<T>(y, s, e)) = forward(T{}, xtb::flat<T>(fa, s, e), xtb::flat<T>(fb, s, e));
    });
    return record(op, {a, b}, y, [a, b, grad_a, grad_b](const Tensor& gy, GradInputs& g) {
      const Shape& out = gy.shape();
      // expanded again rather than kept from the forward: the graph holds only the inputs
      const Tensor fa = expanded<T>(a, out), fb = expanded<T>(b, out);
      // a and b may be one tensor: b's buffer is asked for after a's, and within each block a's
      // gradient is written before b's is added.
      bool fresh_a = false, fresh_b = false;
      Tensor scratch_a, scratch_b;
      T* ga = gradient_target<T>(g, 0, out, scratch_a, fresh_a);
      T* gb = gradient_target<T>(g, 1, out, scratch_b, fresh_b);
      for_blocks(gy.numel(), [&](std::size_t s, std::size_t e) {
        auto ya = xtb::flat<T>(fa, s, e), yb = xtb::flat<T>(fb, s, e), dy = xtb::flat<T>(gy, s, e);
        if (ga) write_or_add(xtb::flat<T>(ga, s, e), grad_a(T{}, dy, ya, yb), fresh_a);
        if (gb) write_or_add(xtb::flat<T>(gb, s, e), grad_b(T{}, dy, ya, yb), fresh_b);
      });
      sum_back<T>(g, 0, scratch_a);
      sum_back<T>(g, 1, scratch_b);
    });
  });
}

// y = cmp(a, b) elementwise, with broadcasting; a bool tensor.
template <class Cmp>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, Cmp cmp) {
  require_same_dtype(op, a, b);
  const Shape out = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor y = Tensor::empty(out, DType::b8);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const Tensor fa = expanded<T>(a, out), fb = expanded<T>(b, out);
    const T *pa = fa.data<T>(), *pb = fb.data<T>();
    bool* py = y.data<bool>();
    for (std::size_t i = 0, n = y.numel(); i < n; ++i) py[i] = cmp(pa[i], pb[i]);
  };
  if (a.dtype() == DType::i64) run(std::int64_t{});
  else dispatch_float(a.dtype(), op, run);
  return y;
}

void require_mask(const char* op, const Tensor& mask) {
  if (mask.dtype() != DType::b8)
    throw std::invalid_argument(std::string(op) + ": the mask must be bool, got " + dtype_name(mask.dtype()) +
                                " (make one with eq/ne/gt/lt)");
}

}  // namespace

// The ops of elementwise_formulas.def, each the formulas of its line given to unary() or binary().
#define SEQGRAD_UNARY(NAME, FORWARD, BACKWARD)                                                    \
  Tensor NAME(const Tensor& input) {                                                             \
    return unary(                                                                                \
        #NAME, input, [](auto t, const auto& x) { using T = decltype(t); (void)T{}; return FORWARD; }, \
        [](auto t, const auto& gy, const auto& x, const auto& y) {                               \
          using T = decltype(t); (void)T{}; (void)x; (void)y;                                    \
          return BACKWARD;                                                                       \
        });                                                                                      \
  }
#define SEQGRAD_BINARY(NAME, FORWARD, GRAD_A, GRAD_B)                                             \
  Tensor NAME(const Tensor& lhs, const Tensor& rhs) {                                            \
    return binary(                                                                               \
        #NAME, lhs, rhs,                                                                         \
        [](auto t, const auto& a, const auto& b) { using T = decltype(t); (void)T{}; return FORWARD; }, \
        [](auto t, const auto& gy, const auto& a, const auto& b) {                               \
          using T = decltype(t); (void)T{}; (void)a; (void)b;                                    \
          return GRAD_A;                                                                         \
        },                                                                                       \
        [](auto t, const auto& gy, const auto& a, const auto& b) {                               \
          using T = decltype(t); (void)T{}; (void)a; (void)b;                                    \
          return GRAD_B;                                                                         \
        });                                                                                      \
  }

#include "seqgrad/ops/elementwise_formulas.def"
#undef SEQGRAD_UNARY
#undef SEQGRAD_BINARY

Tensor pow(const Tensor& input, double p) {
  return unary(
      "pow", input, [p](auto t, const auto& x) { return xt::pow(x, decltype(t)(p)); },
      [p](auto t, const auto& gy, const auto& x, const auto&) {
        using T = decltype(t);
        return gy * T(p) * xt::pow(x, T(p - 1));
      });
}

Tensor clamp(const Tensor& input, double lo, double hi) {
  if (!(lo <= hi))
    throw std::invalid_argument("clamp: lower bound " + std::to_string(lo) + " is above upper bound " +
                                std::to_string(hi));
  return unary(
      "clamp", input, [lo, hi](auto t, const auto& x) { using T = decltype(t); return xt::clip(x, T(lo), T(hi)); },
      [lo, hi](auto t, const auto& gy, const auto& x, const auto&) {
        using T = decltype(t);
        return xt::where(x >= T(lo) && x <= T(hi), gy, T(0));
      });
}

Tensor affine(const Tensor& input, double scale, double shift) {
  return unary(
      "affine", input, [=](auto t, const auto& x) { using T = decltype(t); return T(scale) * x + T(shift); },
      [=](auto t, const auto& gy, const auto&, const auto&) { return decltype(t)(scale) * gy; });
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", a, b, std::equal_to<>{}); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", a, b, std::not_equal_to<>{}); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", a, b, std::less<>{}); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", a, b, std::less_equal<>{}); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", a, b, std::greater<>{}); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", a, b, std::greater_equal<>{}); }
Tensor eq(const Tensor& a, double b) { return eq(a, Tensor::scalar(b, a.dtype())); }
Tensor ne(const Tensor& a, double b) { return ne(a, Tensor::scalar(b, a.dtype())); }
Tensor gt(const Tensor& a, double b) { return gt(a, Tensor::scalar(b, a.dtype())); }
Tensor lt(const Tensor& a, double b) { return lt(a, Tensor::scalar(b, a.dtype())); }

// y = cond ? a : b, with broadcasting (cond, a and b expanded as in binary()).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  require_mask("where", cond);
  require_same_dtype("where", a, b);
  const Shape out = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  return dispatch_float(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    const Tensor fc = expanded<bool>(cond, out), fa = expanded<T>(a, out), fb = expanded<T>(b, out);
    Tensor y = Tensor::empty(out, a.dtype());
    const bool* c = fc.data<bool>();
    const T *pa = fa.data<T>(), *pb = fb.data<T>();
    T* py = y.data<T>();
    for (std::size_t i = 0, n = y.numel(); i < n; ++i) py[i] = c[i] ? pa[i] : pb[i];
    return record("where", {cond, a, b}, y, [cond](const Tensor& gy, GradInputs& g) {
      const Tensor fc = expanded<bool>(cond, gy.shape());
      const bool* c = fc.data<bool>();
      const T* dy = gy.data<T>();
      const std::size_t n = gy.numel();
      bool fresh_a = false, fresh_b = false;
      Tensor scratch_a, scratch_b;
      T* ga = gradient_target<T>(g, 1, gy.shape(), scratch_a, fresh_a);
      T* gb = gradient_target<T>(g, 2, gy.shape(), scratch_b, fresh_b);
      if (ga) for (std::size_t i = 0; i < n; ++i) ga[i] = (fresh_a ? T(0) : ga[i]) + (c[i] ? dy[i] : T(0));
      if (gb) for (std::size_t i = 0; i < n; ++i) gb[i] = (fresh_b ? T(0) : gb[i]) + (c[i] ? T(0) : dy[i]);
      sum_back<T>(g, 1, scratch_a);
      sum_back<T>(g, 2, scratch_b);
    });
  });
}

// y = mask ? value : x; mask broadcasts to x's shape.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  require_mask("masked_fill", mask);
  if (broadcast_shapes(x.shape(), mask.shape(), "masked_fill") != x.shape())
    throw std::invalid_argument("masked_fill: mask " + to_string(mask.shape()) + " does not broadcast to " +
                                to_string(x.shape()));
  return dispatch_float(x.dtype(), "masked_fill", [&](auto tag) {
    using T = decltype(tag);
    const Tensor fm = expanded<bool>(mask, x.shape());
    Tensor y = Tensor::empty_like(x);
    const bool* m = fm.data<bool>();
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (std::size_t i = 0, n = y.numel(); i < n; ++i) py[i] = m[i] ? T(value) : px[i];
    return record("masked_fill", {x, mask}, y, [mask](const Tensor& gy, GradInputs& g) {
      const Tensor fm = expanded<bool>(mask, gy.shape());
      const bool* m = fm.data<bool>();
      const T* dy = gy.data<T>();
      T* gx = g.buffer(0).data<T>();
      for (std::size_t i = 0, n = gy.numel(); i < n; ++i) gx[i] += m[i] ? T(0) : dy[i];
    });
  });
}

// ---- catalogue ----

void register_elementwise_ops(OpCatalogue& c) {
  using In = const std::vector<Tensor>&;
#define SEQGRAD_UNARY(NAME, FORWARD, GRAD) c.add({#NAME, 1, [](In in) { return NAME(in[0]); }});
#define SEQGRAD_BINARY(NAME, FORWARD, GRAD_A, GRAD_B) c.add({#NAME, 2, [](In in) { return NAME(in[0], in[1]); }});
#include "seqgrad/ops/elementwise_formulas.def"
#undef SEQGRAD_UNARY
#undef SEQGRAD_BINARY
  // No apply where a parameter has no default: the exponent, the bounds, the scale, the value.
  c.add({"pow", 1});
  c.add({"clamp", 1});
  c.add({"affine", 1});
  c.add({"where", 3, [](In in) { return where(in[0], in[1], in[2]); }});
  c.add({"masked_fill", 2});
}

}  // namespace seqgrad
