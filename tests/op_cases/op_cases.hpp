#pragma once
// Gradient-check cases of the ops of the catalogue, keyed by op name. The library lists the ops
// (op_catalogue()); the cases live here, one file per family of ops, and test_op_gradients.cpp
// fails for an op of the catalogue without cases and for cases that name no op.
#include <functional>
#include <string>
#include <vector>

#include "seqgrad/seqgrad.hpp"

namespace seqgrad::op_cases {

// One gradient-check situation of an op: float64 inputs (the checker differentiates every float
// input; index inputs are int64) and a label such as "broadcast [3,1] with [4]".
struct OpCase {
  std::string label;
  std::vector<Tensor> inputs;
};

using CaseGenerator = std::function<std::vector<OpCase>(Generator&)>;

struct OpCases {
  std::string op;  // the name of an op of the catalogue
  CaseGenerator cases;
};

// float64 values uniform in [lo, hi).
Tensor case_tensor(const Shape& shape, Generator& gen, double lo = -1.0, double hi = 1.0);

// One case of one input per shape, labelled by the shape.
CaseGenerator shaped_cases(std::vector<Shape> shapes);

// The families, in the catalogue's order, and all of them together.
std::vector<OpCases> elementwise_cases();
std::vector<OpCases> linalg_cases();
std::vector<OpCases> reduce_cases();
std::vector<OpCases> shape_cases();
std::vector<OpCases> index_cases();
std::vector<OpCases> nn_cases();
const std::vector<OpCases>& all_cases();

}  // namespace seqgrad::op_cases
