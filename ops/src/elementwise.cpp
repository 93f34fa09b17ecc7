// Elementwise ops: each one line of forward math and one line of gradient, like a derivatives table
// (elementwise_formulas.def). This file defines the one-input ops and the family's catalogue rows;
// elementwise_binary.cpp the ops of two or more inputs. The machinery they share (dtype dispatch,
// broadcasting, summing gradients back to an input's shape, recording) is unary() and binary() in
// elementwise_loops.hpp, once for all of them.
#include "seqgrad/ops/elementwise.hpp"

#include <cmath>
#include <numbers>

#include "elementwise_loops.hpp"
#include "formulas_on_tensors.hpp"
#include "seqgrad/ops/catalogue.hpp"

namespace seqgrad {

using namespace elementwise_loops;

// The one-input ops of elementwise_formulas.def, each the formulas of its line given to unary()
// (the two-input ones are defined in elementwise_binary.cpp).
#define SEQGRAD_UNARY(NAME, FORWARD, BACKWARD)                                                    \
  Tensor NAME(const Tensor& input) {                                                             \
    return unary(                                                                                \
        #NAME, input, [](auto t, const auto& x) { using T = decltype(t); (void)T{}; return FORWARD; }, \
        [](auto t, const auto& gy, const auto& x, const auto& y) {                               \
          using T = decltype(t); (void)T{}; (void)x; (void)y;                                    \
          using namespace seqgrad::formula;                                                      \
          return BACKWARD;                                                                       \
        });                                                                                      \
  }
#define SEQGRAD_BINARY(NAME, FORWARD, GRAD_A, GRAD_B)
#include "seqgrad/ops/elementwise_formulas.def"
#undef SEQGRAD_UNARY
#undef SEQGRAD_BINARY

Tensor pow(const Tensor& input, double p) {
  return unary(
      "pow", input, [p](auto t, const auto& x) { return xt::pow(x, decltype(t)(p)); },
      [p](auto t, const auto& gy, const auto& x, const auto&) {
        using T = decltype(t);
        return gy * T(p) * pow(x, T(p - 1));
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
        using namespace seqgrad::formula;
        return where(x >= T(lo) && x <= T(hi), gy, T(0));
      });
}

Tensor affine(const Tensor& input, double scale, double shift) {
  return unary(
      "affine", input, [=](auto t, const auto& x) { using T = decltype(t); return T(scale) * x + T(shift); },
      [=](auto t, const auto& gy, const auto&, const auto&) { return decltype(t)(scale) * gy; });
}

// ---- what the formulas need on Tensors (formulas_on_tensors.hpp) ----

Tensor formula::sign(const Tensor& x) {
  Tensor s = Tensor::empty_like(x);
  dispatch_float(x.dtype(), "sign", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* ps = s.data<T>();
    for (std::size_t i = 0, n = x.numel(); i < n; ++i) ps[i] = T((px[i] > T(0)) - (px[i] < T(0)));
  });
  return s;  // not recorded: a constant
}

Tensor formula::operator&&(const Tensor& a, const Tensor& b) {
  require_mask("&&", a);
  require_mask("&&", b);
  if (a.shape() != b.shape())
    throw std::invalid_argument("&&: masks " + to_string(a.shape()) + " and " + to_string(b.shape()) + " differ");
  Tensor m = Tensor::empty(a.shape(), DType::b8);
  for (std::size_t i = 0, n = a.numel(); i < n; ++i) m.data<bool>()[i] = a.data<bool>()[i] && b.data<bool>()[i];
  return m;
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
