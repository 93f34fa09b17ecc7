#pragma once
// What the gradient formulas of elementwise_formulas.def (and pow, clamp) need beyond the ops and
// operators of elementwise.hpp to be instantiated on Tensors as well as on xtensor expressions. A
// formula is written once, with unqualified names (exp, where, sign, square, ...); its lambda says
// `using namespace seqgrad::formula;`, so on xtensor arguments the names resolve (by argument-
// dependent lookup) to xtensor's functions, the fast path, and on Tensors to seqgrad's recorded ops,
// the create_graph path. Private to ops/.
#include "seqgrad/ops/elementwise.hpp"

namespace seqgrad::formula {

// The sign of x: its derivative is zero almost everywhere, so it is a constant of the graph.
Tensor sign(const Tensor& x);
inline Tensor square(const Tensor& x) { return x * x; }
inline Tensor where(const Tensor& cond, const Tensor& a, double b) { return seqgrad::where(cond, a, Tensor::scalar(b, a.dtype())); }
inline Tensor where(const Tensor& cond, double a, const Tensor& b) { return seqgrad::where(cond, Tensor::scalar(a, b.dtype()), b); }
inline Tensor operator>(const Tensor& a, double b) { return gt(a, b); }
inline Tensor operator<(const Tensor& a, double b) { return lt(a, b); }
inline Tensor operator>=(const Tensor& a, double b) { return ge(a, Tensor::scalar(b, a.dtype())); }
inline Tensor operator<=(const Tensor& a, double b) { return le(a, Tensor::scalar(b, a.dtype())); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator&&(const Tensor& a, const Tensor& b);  // of two bool masks of one shape

}  // namespace seqgrad::formula
