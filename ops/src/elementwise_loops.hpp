#pragma once
// The loops behind the elementwise ops, shared by their two translation units (elementwise.cpp:
// one input; elementwise_binary.cpp: two or more, with broadcasting): dtype dispatch, blocks over
// the cores, broadcasting, summing gradients back to an input's shape, recording. Private to ops/.
// Two files rather than one because each formula is instantiated for float32 and float64, forward
// and backward: one file of them all was the longest compilation of the project.
#include <string>

#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/graph/node.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "xt_bridge.hpp"

namespace seqgrad::elementwise_loops {

inline void require_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
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

// out[0, n) = expr, or += expr, as xtensor's linear SIMD assignment does it (the same alignment peel,
// batches and scalar tail, and its scalar loop where the expression has no SIMD form) without its
// general assignment machinery (steppers, strided loops, shape checks), which, instantiated for
// every formula, dtype and =/+=, was two thirds of these files' compile time. The values are
// xtensor's bit for bit except where g++ fuses a multiply and an add differently once inlined
// here (gelu's gradient, in the last bits).
template <class T, class Expr>
void assign_flat(T* out, std::size_t n, const Expr& e, bool add) {
  auto scalar = [&](std::size_t i) { out[i] = add ? out[i] + T(e.data_element(i)) : T(e.data_element(i)); };
  using Dest = decltype(xtb::flat(out, 0, n));
  if constexpr (!xt::xassign_traits<Dest, Expr>::simd_assign()) {  // e.g. sign: xtensor's scalar loop
    for (std::size_t i = 0; i < n; ++i) scalar(i);
  } else {
    using batch = xt_simd::simd_type<T>;
    constexpr std::size_t N = batch::size;
    const std::size_t begin = std::min(n, std::size_t(xt_simd::get_alignment_offset(out, n, N)));
    const std::size_t end = begin + ((n - begin) & ~(N - 1));
    for (std::size_t i = 0; i < begin; ++i) scalar(i);
    for (std::size_t i = begin; i < end; i += N) {
      batch v = e.template load_simd<xsimd::unaligned_mode, T>(i);
      if (add) v = batch::load_unaligned(out + i) + v;
      v.store_unaligned(out + i);
    }
    for (std::size_t i = end; i < n; ++i) scalar(i);
  }
}

// dest = expr into a fresh gradient buffer (GradInputs::buffer_to_write), else dest += expr.
template <class Dest, class Expr>
void write_or_add(Dest&& dest, const Expr& expr, bool fresh) {
  using T = typename std::decay_t<Dest>::value_type;
  assign_flat<T>(dest.data(), dest.size(), expr, !fresh);
}

// y = forward(x); dx += backward(gy, x, y). Formulas receive a T{} tag so constants are typed. Under
// create_graph the same formula runs on Tensors (T = double), its ops recorded.
template <class Fwd, class Bwd>
Tensor unary(const char* op, const Tensor& x, Fwd forward, Bwd backward) {
  return dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty_like(x);
    for_blocks(x.numel(), [&](std::size_t b, std::size_t e) {
      assign_flat<T>(y.data<T>() + b, e - b, forward(T{}, xtb::flat<T>(x, b, e)), false);
    });
    return record(op, {x}, y, [x, y = y.detach(), backward](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) return g.add(0, backward(double{}, gy, x, g.output(y)));
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
// back to its input's shape (under create_graph, the formulas on Tensors, recorded). A broadcast input is expanded to the result's shape first, so that
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
      assign_flat<T>(y.data<T>() + s, e - s, forward(T{}, xtb::flat<T>(fa, s, e), xtb::flat<T>(fb, s, e)), false);
    });
    return record(op, {a, b}, y, [a, b, grad_a, grad_b](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {
        if (g.needs(0)) g.add(0, grad_a(double{}, gy, a, b));
        if (g.needs(1)) g.add(1, grad_b(double{}, gy, a, b));
        return;
      }
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

inline void require_mask(const char* op, const Tensor& mask) {
  if (mask.dtype() != DType::b8)
    throw std::invalid_argument(std::string(op) + ": the mask must be bool, got " + dtype_name(mask.dtype()) +
                                " (make one with eq/ne/gt/lt)");
}

}  // namespace seqgrad::elementwise_loops
