// Cases of the shape ops (ops/src/shape_ops.cpp).
#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

std::vector<OpCases> shape_cases() {
  return {
      {"reshape", shaped_cases({{2, 3, 4}, {24}, {8, 3}})},
      {"reshape_infer", shaped_cases({{2, 3, 4}, {1, 6}, {2}})},
      {"reshape_scalar", shaped_cases({{}})},
      {"permute", shaped_cases({{2, 3, 4}, {1, 3, 2}})},
      {"permute_inner_kept", shaped_cases({{2, 3, 4}})},
      {"transpose", shaped_cases({{3, 4}, {2, 3, 4}, {1, 5}})},
      {"unsqueeze", shaped_cases({{3, 4}, {}})},
      {"unsqueeze_front", shaped_cases({{3, 4}})},
      {"squeeze", shaped_cases({{3, 1, 4}, {1, 2}})},
      {"broadcast_to", shaped_cases({{3, 1}, {4}, {}, {2, 1, 4}, {2, 3, 4}})},
      {"concat",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"[2,1,4], [2,3,4], [2,2,4] on axis 1",
              {case_tensor({2, 1, 4}, gen), case_tensor({2, 3, 4}, gen), case_tensor({2, 2, 4}, gen)}},
             {"[3,2] and [3,1] on axis 1", {case_tensor({3, 2}, gen), case_tensor({3, 1}, gen)}},
             {"one input [2,3]", {case_tensor({2, 3}, gen)}}};
       }},
      {"concat_first_axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"[1,3] and [2,3]", {case_tensor({1, 3}, gen), case_tensor({2, 3}, gen)}}};
       }},
      {"concat_last_axis",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"[2,3,1] and [2,3,2]", {case_tensor({2, 3, 1}, gen), case_tensor({2, 3, 2}, gen)}},
             {"[2] and [3] (1-D)", {case_tensor({2}, gen), case_tensor({3}, gen)}}};
       }},
      {"stack",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"three [2,3]", {case_tensor({2, 3}, gen), case_tensor({2, 3}, gen), case_tensor({2, 3}, gen)}},
             {"two scalars", {case_tensor({}, gen), case_tensor({}, gen)}}};
       }},
      {"stack_last_axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"two [2,3]", {case_tensor({2, 3}, gen), case_tensor({2, 3}, gen)}}};
       }},
      {"narrow", shaped_cases({{4}, {3, 4}, {2, 3, 5}})},
      {"narrow_middle_axis", shaped_cases({{2, 3, 4}})},
      {"split", shaped_cases({{2, 5, 3}, {3, 4}})},
      // Values are small so that float32 rounding (relative 6e-8) stays far below the
      // finite-difference step of 1e-6 in absolute terms.
      {"cast",
       [](Generator& gen) {
         return std::vector<OpCase>{{"[3,4] in [-1e-3, 1e-3]", {case_tensor({3, 4}, gen, -1e-3, 1e-3)}}};
       }},
  };
}

}  // namespace seqgrad::op_cases
