// Elementwise ops: each one line of forward math and one line of gradient, like a derivatives table.
// The shared machinery (dtype dispatch, broadcasting, summing gradients back to an input's shape,
// recording) lives in unary() and binary() below, once for all of them.
#include "seqgrad/ops/elementwise.hpp"

#include <cmath>
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

// g.buffer(i) += expr, where expr has the broadcast (output) shape and input i may be smaller.
template <class T, class Expr>
void add_unbroadcast(GradInputs& g, std::size_t i, const Shape& out_shape, Expr&& expr) {
  if (g.shape(i) == out_shape) {
    bool fresh;
    Tensor& buf = g.buffer_to_write(i, fresh);
    return write_or_add(xtb::nd<T>(buf), expr, fresh);
  }
  Tensor& buf = g.buffer(i);
  Tensor full = Tensor::empty(out_shape, buf.dtype());
  xt::noalias(xtb::nd<T>(full)) = expr;
  kernels::sum_to_shape_add(full.data<T>(), out_shape, buf.data<T>(), buf.shape());
}

// y = forward(a, b) with broadcasting; da += grad_a(gy, a, b), db += grad_b(gy, a, b), each summed
// back to its input's shape.
template <class Fwd, class GradA, class GradB>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, Fwd forward, GradA grad_a, GradB grad_b) {
  require_same_dtype(op, a, b);
  return dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (a.shape() == b.shape()) {  // the common case: one flat vectorized loop
      Tensor y = Tensor::empty_like(a);
      for_blocks(a.numel(), [&](std::size_t s, std::size_t e) {
        xt::noalias(xtb::flat<T>(y, s, e)) = forward(T{}, xtb::flat<T>(a, s, e), xtb::flat<T>(b, s, e));
      });
      return record(op, {a, b}, y, [a, b, grad_a, grad_b](const Tensor& gy, GradInputs& g) {
        // a and b may be one tensor: b's buffer is asked for after a's, and within each block a's
        // gradient is written before b's is added.
        bool fresh_a = false, fresh_b = false;
        Tensor* ga = g.needs(0) ? &g.buffer_to_write(0, fresh_a) : nullptr;
        Tensor* gb = g.needs(1) ? &g.buffer_to_write(1, fresh_b) : nullptr;
        for_blocks(a.numel(), [&](std::size_t s, std::size_t e) {
          auto ya = xtb::flat<T>(a, s, e), yb = xtb::flat<T>(b, s, e), dy = xtb::flat<T>(gy, s, e);
          if (ga) write_or_add(xtb::flat<T>(*ga, s, e), grad_a(T{}, dy, ya, yb), fresh_a);
          if (gb) write_or_add(xtb::flat<T>(*gb, s, e), grad_b(T{}, dy, ya, yb), fresh_b);
        });
      });
    }
    Tensor y = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), a.dtype());
    xt::noalias(xtb::nd<T>(y)) = forward(T{}, xtb::nd<T>(a), xtb::nd<T>(b));
    return record(op, {a, b}, y, [a, b, grad_a, grad_b](const Tensor& gy, GradInputs& g) {
      if (g.needs(0)) add_unbroadcast<T>(g, 0, gy.shape(), grad_a(T{}, xtb::nd<T>(gy), xtb::nd<T>(a), xtb::nd<T>(b)));
      if (g.needs(1)) add_unbroadcast<T>(g, 1, gy.shape(), grad_b(T{}, xtb::nd<T>(gy), xtb::nd<T>(a), xtb::nd<T>(b)));
    });
  });
}

template <class Cmp>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, Cmp cmp) {
  require_same_dtype(op, a, b);
  Tensor y = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), DType::b8);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    xt::noalias(xtb::nd<bool>(y)) = cmp(xtb::nd<T>(a), xtb::nd<T>(b));
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

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", a, b, [](const auto& x, const auto& y) { return xt::equal(x, y); }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", a, b, [](const auto& x, const auto& y) { return xt::not_equal(x, y); }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", a, b, [](const auto& x, const auto& y) { return x < y; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", a, b, [](const auto& x, const auto& y) { return x <= y; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", a, b, [](const auto& x, const auto& y) { return x > y; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", a, b, [](const auto& x, const auto& y) { return x >= y; }); }
Tensor eq(const Tensor& a, double b) { return eq(a, Tensor::scalar(b, a.dtype())); }
Tensor ne(const Tensor& a, double b) { return ne(a, Tensor::scalar(b, a.dtype())); }
Tensor gt(const Tensor& a, double b) { return gt(a, Tensor::scalar(b, a.dtype())); }
Tensor lt(const Tensor& a, double b) { return lt(a, Tensor::scalar(b, a.dtype())); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  require_mask("where", cond);
  require_same_dtype("where", a, b);
  const Shape out = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  return dispatch_float(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty(out, a.dtype());
    xt::noalias(xtb::nd<T>(y)) = xt::where(xtb::nd<bool>(cond), xtb::nd<T>(a), xtb::nd<T>(b));
    return record("where", {cond, a, b}, y, [cond](const Tensor& gy, GradInputs& g) {
      if (g.needs(1)) add_unbroadcast<T>(g, 1, gy.shape(), xt::where(xtb::nd<bool>(cond), xtb::nd<T>(gy), T(0)));
      if (g.needs(2)) add_unbroadcast<T>(g, 2, gy.shape(), xt::where(xtb::nd<bool>(cond), T(0), xtb::nd<T>(gy)));
    });
  });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  require_mask("masked_fill", mask);
  if (broadcast_shapes(x.shape(), mask.shape(), "masked_fill") != x.shape())
    throw std::invalid_argument("masked_fill: mask " + to_string(mask.shape()) + " does not broadcast to " +
                                to_string(x.shape()));
  return dispatch_float(x.dtype(), "masked_fill", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty_like(x);
    xt::noalias(xtb::nd<T>(y)) = xt::where(xtb::nd<bool>(mask), T(value), xtb::nd<T>(x));
    return record("masked_fill", {x, mask}, y, [mask](const Tensor& gy, GradInputs& g) {
      xt::noalias(xtb::nd<T>(g.buffer(0))) += xt::where(xtb::nd<bool>(mask), T(0), xtb::nd<T>(gy));
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
