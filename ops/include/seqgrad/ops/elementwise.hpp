#pragma once
// Elementwise ops. Binary ops broadcast with numpy rules; gradients are summed back to each input's
// shape. Both operands must have one dtype (float32 or float64).
#include "seqgrad/graph/node.hpp"

namespace seqgrad {

// The ops that are one formula each (add, mul, exp, relu, ...), declared from their list, which
// holds each one's formulas and notes.
#define SEQGRAD_UNARY(NAME, FORWARD, GRAD) Tensor NAME(const Tensor& x);
#define SEQGRAD_BINARY(NAME, FORWARD, GRAD_A, GRAD_B) Tensor NAME(const Tensor& a, const Tensor& b);
#include "seqgrad/ops/elementwise_formulas.def"
#undef SEQGRAD_UNARY
#undef SEQGRAD_BINARY

// Unary with parameters.
Tensor pow(const Tensor& x, double exponent);
Tensor clamp(const Tensor& x, double lo, double hi);  // gradient passes where lo <= x <= hi
Tensor affine(const Tensor& x, double scale, double shift);  // scale * x + shift

// Comparisons and selection. Comparisons give bool masks and carry no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
// cond (bool) ? a : b, all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` where mask (bool, broadcastable to x) is true; no gradient flows through those places.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// Operators, for equations that read like the math.
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }
inline Tensor operator+(const Tensor& x, double s) { return affine(x, 1.0, s); }
inline Tensor operator+(double s, const Tensor& x) { return affine(x, 1.0, s); }
inline Tensor operator-(const Tensor& x, double s) { return affine(x, 1.0, -s); }
inline Tensor operator-(double s, const Tensor& x) { return affine(x, -1.0, s); }
inline Tensor operator*(const Tensor& x, double s) { return affine(x, s, 0.0); }
inline Tensor operator*(double s, const Tensor& x) { return affine(x, s, 0.0); }
inline Tensor operator/(const Tensor& x, double s) { return affine(x, 1.0 / s, 0.0); }

}  // namespace seqgrad
