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
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"[3,4] x [4,5]", {case_tensor({3, 4}, gen), case_tensor({4, 5}, gen)}},
             {"[2,3,4] x [2,4,5]", {case_tensor({2, 3, 4}, gen), case_tensor({2, 4, 5}, gen)}},
             {"[2,3,4] x [4,5] (shared)", {case_tensor({2, 3, 4}, gen), case_tensor({4, 5}, gen)}},
             {"[3,4] x [2,4,5] (shared)", {case_tensor({3, 4}, gen), case_tensor({2, 4, 5}, gen)}},
             {"[1,1] x [1,3]", {case_tensor({1, 1}, gen), case_tensor({1, 3}, gen)}}};
       }},
      {"matmul", "transpose b",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"[3,4] x [5,4]^T", {case_tensor({3, 4}, gen), case_tensor({5, 4}, gen)}},
             {"[2,3,4] x [2,5,4]^T", {case_tensor({2, 3, 4}, gen), case_tensor({2, 5, 4}, gen)}},
             {"[2,3,4] x [5,4]^T", {case_tensor({2, 3, 4}, gen), case_tensor({5, 4}, gen)}}};
       },
       matmul_transposed(false, true)},
      {"matmul", "transpose a",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"[4,3]^T x [4,5]", {case_tensor({4, 3}, gen), case_tensor({4, 5}, gen)}},
             {"[2,4,3]^T x [2,4,5]", {case_tensor({2, 4, 3}, gen), case_tensor({2, 4, 5}, gen)}},
             {"[2,4,3]^T x [4,5]", {case_tensor({2, 4, 3}, gen), case_tensor({4, 5}, gen)}}};
       },
       matmul_transposed(true, false)},
      {"matmul", "transpose both",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"[4,3]^T x [5,4]^T", {case_tensor({4, 3}, gen), case_tensor({5, 4}, gen)}},
             {"[2,4,3]^T x [2,5,4]^T", {case_tensor({2, 4, 3}, gen), case_tensor({2, 5, 4}, gen)}}};
       },
       matmul_transposed(true, true)},
      {"linear", "",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [3,4], W [5,4], b [5]", {case_tensor({3, 4}, gen), case_tensor({5, 4}, gen), case_tensor({5}, gen)}},
             {"x [2,3,4], W [5,4], b [5]",
              {case_tensor({2, 3, 4}, gen), case_tensor({5, 4}, gen), case_tensor({5}, gen)}}};
       }},
      {"linear", "no bias",
       [](Generator& gen) {
         return std::vector<OpCase>{{"x [3,4], W [2,4]", {case_tensor({3, 4}, gen), case_tensor({2, 4}, gen)}}};
       },
       [](In in) { return linear(in[0], in[1]); }},
  };
}

}  // namespace seqgrad::op_cases
