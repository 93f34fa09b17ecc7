// Cases of matmul and linear (ops/src/matmul.cpp).
#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

namespace {

OpCall matmul_transposed(bool transpose_a, bool transpose_b) {
  return [=](In in) { return matmul(in[0], in[1], transpose_a, transpose_b); };
}

}  // namespace

std::vector<OpCases> linalg_cases() {
  return {
      {"matmul", "",
       input_cases({{"[3,4] x [4,5]", {{3, 4}, {4, 5}}},
                    {"[2,3,4] x [2,4,5]", {{2, 3, 4}, {2, 4, 5}}},
                    {"[2,3,4] x [4,5] (shared)", {{2, 3, 4}, {4, 5}}},
                    {"[3,4] x [2,4,5] (shared)", {{3, 4}, {2, 4, 5}}},
                    {"[1,1] x [1,3]", {{1, 1}, {1, 3}}}})},
      {"matmul", "transpose b",
       input_cases({{"[3,4] x [5,4]^T", {{3, 4}, {5, 4}}},
                    {"[2,3,4] x [2,5,4]^T", {{2, 3, 4}, {2, 5, 4}}},
                    {"[2,3,4] x [5,4]^T", {{2, 3, 4}, {5, 4}}},
                    {"[3,4] x [2,5,4]^T (shared)", {{3, 4}, {2, 5, 4}}}}),
       matmul_transposed(false, true)},
      {"matmul", "transpose a",
       input_cases({{"[4,3]^T x [4,5]", {{4, 3}, {4, 5}}},
                    {"[2,4,3]^T x [2,4,5]", {{2, 4, 3}, {2, 4, 5}}},
                    {"[2,4,3]^T x [4,5]", {{2, 4, 3}, {4, 5}}},
                    {"[4,3]^T x [2,4,5] (shared)", {{4, 3}, {2, 4, 5}}}}),
       matmul_transposed(true, false)},
      {"matmul", "transpose both",
       input_cases({{"[4,3]^T x [5,4]^T", {{4, 3}, {5, 4}}},
                    {"[2,4,3]^T x [2,5,4]^T", {{2, 4, 3}, {2, 5, 4}}},
                    {"[2,4,3]^T x [5,4]^T (shared)", {{2, 4, 3}, {5, 4}}},
                    {"[4,3]^T x [2,5,4]^T (shared)", {{4, 3}, {2, 5, 4}}}}),
       matmul_transposed(true, true)},
      {"linear", "",
       input_cases({{"x [3,4], W [5,4], b [5]", {{3, 4}, {5, 4}, {5}}},
                    {"x [2,3,4], W [5,4], b [5]", {{2, 3, 4}, {5, 4}, {5}}},
                    {"x [4] (one row), W [5,4], b [5]", {{4}, {5, 4}, {5}}}})},
      {"linear", "no bias",
       input_cases({{"x [3,4], W [2,4]", {{3, 4}, {2, 4}}}}),
       [](In in) { return linear(in[0], in[1]); }},
  };
}

}  // namespace seqgrad::op_cases
