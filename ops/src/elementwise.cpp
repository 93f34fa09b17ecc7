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

// Formulas see T (the element type), x, y (the result) and gy (the result's gradient).
#define SEQGRAD_UNARY(NAME, FORWARD, BACKWARD)                                                    \
  Tensor NAME(const Tensor& input) {                                                             \
    return unary(                                                                                \
        #NAME, input, [](auto t, const auto& x) { using T = decltype(t); (void)T{}; return FORWARD; }, \
        [](auto t, const auto& gy, const auto& x, const auto& y) {                               \
          using T = decltype(t); (void)T{}; (void)x; (void)y;                                    \
          return BACKWARD;                                                                       \
        });                                                                                      \
  }

//            op       forward                              backward (dL/dx)
SEQGRAD_UNARY(neg,     -x,                                  -gy)
SEQGRAD_UNARY(exp,     xt::exp(x),                          gy * y)
SEQGRAD_UNARY(log,     xt::log(x),                          gy / x)
SEQGRAD_UNARY(sqrt,    xt::sqrt(x),                         gy / (T(2) * y))
SEQGRAD_UNARY(abs,     xt::abs(x),                          gy * xt::sign(x))
SEQGRAD_UNARY(tanh,    xt::tanh(x),                         gy * (T(1) - y * y))
SEQGRAD_UNARY(sigmoid, T(1) / (T(1) + xt::exp(-x)),         gy * y * (T(1) - y))
SEQGRAD_UNARY(relu,    xt::maximum(x, T(0)),                xt::where(x > T(0), gy, T(0)))
// gelu(x) = x/2 (1 + tanh(k (x + c x^3))), k = sqrt(2/pi), c = 0.044715
SEQGRAD_UNARY(gelu,
              T(0.5) * x * (T(1) + xt::tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x))),
              gy * (T(0.5) * (T(1) + xt::tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x))) +
                    T(0.5) * x *
                        (T(1) - xt::square(xt::tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x)))) *
                        T(0.7978845608028654) * (T(1) + T(3 * 0.044715) * x * x)))
#undef SEQGRAD_UNARY

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

//             op       forward            dL/da                              dL/db
SEQGRAD_BINARY(add,     a + b,             gy,                                gy)
SEQGRAD_BINARY(sub,     a - b,             gy,                                -gy)
SEQGRAD_BINARY(mul,     a * b,             gy * b,                            gy * a)
SEQGRAD_BINARY(div,     a / b,             gy / b,                            -gy * a / (b * b))
SEQGRAD_BINARY(maximum, xt::maximum(a, b), xt::where(a >= b, gy, T(0)),      xt::where(a >= b, T(0), gy))
#undef SEQGRAD_BINARY

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

namespace {

using In = const std::vector<Tensor>&;

void add_unary(OpCatalogue& c, const std::string& name, Tensor (*fn)(const Tensor&)) {
  c.add({name, 1, [fn](In in) { return fn(in[0]); }});
}

}  // namespace

void register_elementwise_ops(OpCatalogue& c) {
  add_unary(c, "neg", neg);
  add_unary(c, "exp", exp);
  add_unary(c, "log", log);
  add_unary(c, "sqrt", sqrt);
  add_unary(c, "tanh", tanh);
  add_unary(c, "sigmoid", sigmoid);
  add_unary(c, "gelu", gelu);
  add_unary(c, "abs", abs);
  add_unary(c, "abs_negative", abs);  // the same op, checked on the other side of its kink
  add_unary(c, "relu", relu);
  add_unary(c, "relu_negative", relu);
  c.add({"pow", 1, [](In in) { return pow(in[0], 2.5); }});
  c.add({"clamp", 1, [](In in) { return clamp(in[0], -0.5, 0.5); }});
  c.add({"affine", 1, [](In in) { return affine(in[0], -1.5, 0.25); }});
  c.add({"add", 2, [](In in) { return add(in[0], in[1]); }});
  c.add({"sub", 2, [](In in) { return sub(in[0], in[1]); }});
  c.add({"mul", 2, [](In in) { return mul(in[0], in[1]); }});
  c.add({"div", 2, [](In in) { return div(in[0], in[1]); }});
  c.add({"maximum", 2, [](In in) { return maximum(in[0], in[1]); }});
  c.add({"where", 3, [](In in) { return where(gt(in[0], 0.0), in[1], in[2]); }});
  c.add({"masked_fill", 2, [](In in) { return masked_fill(in[1], gt(in[0], 0.0), -3.0); }});
}

}  // namespace seqgrad
