// The four recorded ops a create_graph walk sums gradients with (GradInputs::add). They live in
// graph, below the op library, because the walk's bookkeeping needs them; each one's backward is
// written with the others, so a gradient of a gradient is recorded again, to any order.
#include <algorithm>
#include <stdexcept>

#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/graph/node.hpp"

namespace seqgrad::detail {

namespace {

void require_broadcast(const char* op, const Shape& small, const Shape& big) {
  if (small.size() > big.size() || broadcast_shapes(small, big, op) != big)
    throw std::invalid_argument(std::string(op) + ": shape " + to_string(small) + " does not broadcast to " +
                                to_string(big));
}

}  // namespace

Tensor sum_to(const Tensor& g, const Shape& shape) {
  require_broadcast("sum_to", shape, g.shape());
  Tensor y = Tensor::zeros(shape, g.dtype());
  dispatch_float(g.dtype(), "sum_to", [&](auto tag) {
    using T = decltype(tag);
    kernels::sum_to_shape_add(g.data<T>(), g.shape(), y.data<T>(), shape);
  });
  return record("sum_to", {g}, y, [big = g.shape()](const Tensor& gy, GradInputs& grads) {
    grads.add(0, expand_to(gy, big));
  });
}

Tensor expand_to(const Tensor& g, const Shape& shape) {
  require_broadcast("expand_to", g.shape(), shape);
  Tensor y = Tensor::empty(shape, g.dtype());
  dispatch_float(g.dtype(), "expand_to", [&](auto tag) {
    using T = decltype(tag);
    kernels::broadcast_rows(g.data<T>(), g.shape(), y.data<T>(), shape);
  });
  // add() sums the gradient back to g's shape.
  return record("expand_to", {g}, y, [](const Tensor& gy, GradInputs& grads) { grads.add(0, gy); });
}

Tensor gradient_sum(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    throw std::invalid_argument("gradient_sum: " + to_string(a.shape()) + " " + dtype_name(a.dtype()) + " and " +
                                to_string(b.shape()) + " " + dtype_name(b.dtype()) + " differ");
  Tensor y = Tensor::empty_like(a);
  dispatch_float(a.dtype(), "gradient_sum", [&](auto tag) {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* py = y.data<T>();
    for (std::size_t i = 0, n = y.numel(); i < n; ++i) py[i] = pa[i] + pb[i];
  });
  return record("gradient_sum", {a, b}, y, [](const Tensor& gy, GradInputs& grads) {
    grads.add(0, gy);
    grads.add(1, gy);
  });
}

Tensor gradient_copy(const Tensor& g) {
  Tensor y = g.clone();
  return record("gradient_copy", {g}, y, [](const Tensor& gy, GradInputs& grads) { grads.add(0, gy); });
}

}  // namespace seqgrad::detail
