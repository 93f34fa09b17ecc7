// Cases of the shape ops (ops/src/shape_ops.cpp).
#include <algorithm>

#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

namespace {

// The cases of an op given several tensors, labelled by what they are.
CaseGenerator tensors_cases(std::vector<std::pair<std::string, std::vector<Shape>>> labelled_shapes) {
  return [labelled_shapes](Generator& gen) {
    std::vector<OpCase> cases;
    for (const auto& [label, shapes] : labelled_shapes) {
      std::vector<Tensor> inputs;
      for (const Shape& s : shapes) inputs.push_back(case_tensor(s, gen));
      cases.push_back({label, inputs});
    }
    return cases;
  };
}

}  // namespace

std::vector<OpCases> shape_cases() {
  return {
      {"reshape", "to [3,8]", shaped_cases({{2, 3, 4}, {24}, {8, 3}}), [](In in) { return reshape(in[0], {3, 8}); }},
      {"reshape", "scalar to [1,1]", shaped_cases({{}}), [](In in) { return reshape(in[0], {1, 1}); }},
      {"reshape_infer", "to [-1,2]", shaped_cases({{2, 3, 4}, {1, 6}, {2}}),
       [](In in) { return reshape_infer(in[0], {-1, 2}); }},
      {"permute", "order 2, 0, 1", shaped_cases({{2, 3, 4}, {1, 3, 2}}), [](In in) { return permute(in[0], {2, 0, 1}); }},
      {"permute", "inner axis kept", shaped_cases({{2, 3, 4}}), [](In in) { return permute(in[0], {1, 0, 2}); }},
      {"transpose", "first and last axes", shaped_cases({{3, 4}, {2, 3, 4}, {1, 5}}),
       [](In in) { return transpose(in[0], 0, -1); }},
      {"unsqueeze", "last axis", shaped_cases({{3, 4}, {}}), [](In in) { return unsqueeze(in[0], -1); }},
      {"unsqueeze", "first axis", shaped_cases({{3, 4}}), [](In in) { return unsqueeze(in[0], 0); }},
      {"squeeze", "axis -2", shaped_cases({{3, 1, 4}, {1, 2}}), [](In in) { return squeeze(in[0], -2); }},
      {"broadcast_to", "to [2,3,4]", shaped_cases({{3, 1}, {4}, {}, {2, 1, 4}, {2, 3, 4}}),
       [](In in) { return broadcast_to(in[0], {2, 3, 4}); }},
      {"concat", "axis 1",
       tensors_cases({{"[2,1,4], [2,3,4], [2,2,4] on axis 1", {{2, 1, 4}, {2, 3, 4}, {2, 2, 4}}},
                      {"[3,2] and [3,1] on axis 1", {{3, 2}, {3, 1}}},
                      {"one input [2,3]", {{2, 3}}}}),
       [](In in) { return concat(in, 1); }},
      {"concat", "first axis", tensors_cases({{"[1,3] and [2,3]", {{1, 3}, {2, 3}}}}),
       [](In in) { return concat(in, 0); }},
      {"concat", "last axis",
       tensors_cases({{"[2,3,1] and [2,3,2]", {{2, 3, 1}, {2, 3, 2}}}, {"[2] and [3] (1-D)", {{2}, {3}}}}),
       [](In in) { return concat(in, -1); }},
      {"stack", "first axis", tensors_cases({{"three [2,3]", {{2, 3}, {2, 3}, {2, 3}}}, {"two scalars", {{}, {}}}}),
       [](In in) { return stack(in, 0); }},
      {"stack", "last axis", tensors_cases({{"two [2,3]", {{2, 3}, {2, 3}}}}), [](In in) { return stack(in, -1); }},
      {"narrow", "last axis from 1, length 2", shaped_cases({{4}, {3, 4}, {2, 3, 5}}),
       [](In in) { return narrow(in[0], -1, 1, 2); }},
      {"narrow", "middle axis from 2, length 1", shaped_cases({{2, 3, 4}}), [](In in) { return narrow(in[0], 1, 2, 1); }},
      // The pieces are joined in another order, so every piece's gradient is checked at a moved place.
      {"split", "pieces of 2 on axis 1, joined reversed", shaped_cases({{2, 5, 3}, {3, 4}}),
       [](In in) {
         std::vector<Tensor> parts = split(in[0], 2, 1);
         std::reverse(parts.begin(), parts.end());
         return concat(parts, 1);
       }},
      // Through float32 and back. Values are small so that float32 rounding (relative 6e-8) stays
      // far below the finite-difference step of 1e-6 in absolute terms. The second-order check
      // differentiates the gradient with respect to the upstream gradient too, whose values are
      // about 1: it takes a step of 1e-4 (the gradient is linear in it, so the step costs nothing).
      // The rounding still leaves the numeric derivative about 3e-5 off (6e-11 over a step of 2e-6):
      // gradcheck's default tolerances.
      {"cast", "to float32 and back",
       [](Generator& gen) {
         return std::vector<OpCase>{{"[3,4] in [-1e-3, 1e-3]", {case_tensor({3, 4}, gen, -1e-3, 1e-3)}}};
       },
       [](In in) { return cast(cast(in[0], DType::f32), DType::f64); }, 1e-4, 1e-5, 1e-3},
  };
}

}  // namespace seqgrad::op_cases
