#pragma once
// Gradient-check cases of the ops of the catalogue, keyed by op name. The library lists each op once
// (op_catalogue()); the cases live here, one file per family of ops (op_families.def), with the
// parameters an op is checked at: an op may have several sets of cases (abs on each side of its
// kink, softmax over each axis), each calling the op its own way. test_op_gradients.cpp fails for
// an op of the catalogue without cases and for cases that name no op.
#include <functional>
#include <string>
#include <vector>

#include "seqgrad/seqgrad.hpp"
#include "support/float64_inputs.hpp"

namespace seqgrad::op_cases {

// One gradient-check situation of an op: its inputs (the checker differentiates every float64
// input and leaves int64 indices and bool masks alone) and a label such as "broadcast [3,1] with [4]".
struct OpCase {
  std::string label;
  std::vector<Tensor> inputs;
};

using CaseGenerator = std::function<std::vector<OpCase>(Generator&)>;

using In = const std::vector<Tensor>&;  // the inputs of an op's call
using OpCall = std::function<Tensor(In)>;

struct OpCases {
  std::string op;       // the name of an op of the catalogue
  std::string setting;  // what this set checks, unique among the op's sets; "" for the plain op
  CaseGenerator cases;
  // The op called with this set's parameters (pow's exponent, an axis, an option); when empty,
  // the catalogue's apply, and the cases' inputs must match the op's arity.
  OpCall call = {};
  // The finite-difference step of the second-order check. An op whose gradient rounds (a cast
  // through float32) needs a larger one: the gradient is then quantized at 6e-8 relative, which a
  // step of 1e-6 turns into a 3-5% error in the numeric derivative.
  double second_order_eps = 1e-6;
  // Both checks' tolerances (pass when |analytic - numeric| <= atol + rtol |numeric|): the tests'
  // (test_support::kLayerCheck). A set whose function rounds (the cast through float32) states its own.
  double atol = test_support::kLayerCheck.atol;
  double rtol = test_support::kLayerCheck.rtol;
};

// float64 values uniform in [lo, hi).
Tensor case_tensor(const Shape& shape, Generator& gen, double lo = -1.0, double hi = 1.0);

// An int64 index tensor (indices, targets) holding `values`.
Tensor ids(std::vector<std::int64_t> values, Shape shape);

// One case of one input per shape, labelled by the shape.
CaseGenerator shaped_cases(std::vector<Shape> shapes);

// One case per row: its label, and one float64 input per shape (drawn in the order given).
struct InputShapes {
  std::string label;
  std::vector<Shape> shapes;
};
CaseGenerator input_cases(std::vector<InputShapes> rows);

// Each family's cases (in tests/op_cases/<family>.cpp), and all of them together.
#define SEQGRAD_OP_FAMILY(FAMILY, HEADER, SOURCE) std::vector<OpCases> FAMILY##_cases();
#include "seqgrad/ops/op_families.def"
#undef SEQGRAD_OP_FAMILY
const std::vector<OpCases>& all_cases();

}  // namespace seqgrad::op_cases
