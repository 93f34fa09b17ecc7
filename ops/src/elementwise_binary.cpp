// The elementwise ops of two or more inputs, with numpy broadcasting: the binary formulas of
// elementwise_formulas.def, comparisons, where and masked_fill. Their loops: elementwise_loops.hpp.
#include <functional>

#include "elementwise_loops.hpp"
#include "formulas_on_tensors.hpp"
#include "seqgrad/ops/elementwise.hpp"

namespace seqgrad {

using namespace elementwise_loops;

// The two-input ops of elementwise_formulas.def, each the formulas of its line given to binary().
#define SEQGRAD_UNARY(NAME, FORWARD, BACKWARD)
#define SEQGRAD_BINARY(NAME, FORWARD, GRAD_A, GRAD_B)                                             \
  Tensor NAME(const Tensor& lhs, const Tensor& rhs) {                                            \
    return binary(                                                                               \
        #NAME, lhs, rhs,                                                                         \
        [](auto t, const auto& a, const auto& b) { using T = decltype(t); (void)T{}; return FORWARD; }, \
        [](auto t, const auto& gy, const auto& a, const auto& b) {                               \
          using T = decltype(t); (void)T{}; (void)a; (void)b;                                    \
          using namespace seqgrad::formula;                                                      \
          return GRAD_A;                                                                         \
        },                                                                                       \
        [](auto t, const auto& gy, const auto& a, const auto& b) {                               \
          using T = decltype(t); (void)T{}; (void)a; (void)b;                                    \
          using namespace seqgrad::formula;                                                      \
          return GRAD_B;                                                                         \
        });                                                                                      \
  }

#include "seqgrad/ops/elementwise_formulas.def"
#undef SEQGRAD_UNARY
#undef SEQGRAD_BINARY

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
      if (g.create_graph()) {
        const Tensor zero = Tensor::scalar(0.0, gy.dtype());
        if (g.needs(1)) g.add(1, where(cond, gy, zero));
        if (g.needs(2)) g.add(2, where(cond, zero, gy));
        return;
      }
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
      if (g.create_graph()) return g.add(0, masked_fill(gy, mask, 0.0));
      const Tensor fm = expanded<bool>(mask, gy.shape());
      const bool* m = fm.data<bool>();
      const T* dy = gy.data<T>();
      T* gx = g.buffer(0).data<T>();
      for (std::size_t i = 0, n = gy.numel(); i < n; ++i) gx[i] += m[i] ? T(0) : dy[i];
    });
  });
}

}  // namespace seqgrad
