// Cases of the fused neural-network ops (ops/src/nn_ops.cpp).
#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

std::vector<OpCases> nn_cases() {
  return {
      {"dropout", "p 0.3, training",
       input_cases({{"[4,5]", {{4, 5}}},
                    {"[7]", {{7}}}}),
       [](In in) {
         Generator gen(42);  // the same mask on every call, as finite differences need
         return dropout(in[0], 0.3, /*training=*/true, gen);
       }},
      {"layer_norm", "",
       input_cases({{"[3,5] with weight and bias", {{3, 5}, {5}, {5}}},
                    {"[2,2,4]", {{2, 2, 4}, {4}, {4}}},
                    {"[1,1] (one feature)", {{1, 1}, {1}, {1}}}})},
      {"layer_norm", "no weight and bias",
       input_cases({{"[3,6]", {{3, 6}}}}),
       [](In in) { return layer_norm(in[0], Tensor(), Tensor()); }},
      {"layer_norm", "weight, no bias",
       input_cases({{"[2,3,4]", {{2, 3, 4}, {4}}}}),
       [](In in) { return layer_norm(in[0], in[1], Tensor()); }},
      {"cross_entropy", "",
       [](Generator& gen) {
         return std::vector<OpCase>{{"logits [4,5]", {case_tensor({4, 5}, gen, -3, 3), ids({2, 0, 4, 1}, {4})}}};
       }},
      {"cross_entropy", "ignore_index 0, label_smoothing 0.1",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"logits [2,3,4]", {case_tensor({2, 3, 4}, gen, -3, 3), ids({1, 0, 3, 0, 2, 0}, {2, 3})}}};
       },
       [](In in) { return cross_entropy(in[0], in[1], {.ignore_index = 0, .label_smoothing = 0.1}); }},
      {"gru_cell_gates", "",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"B 3, H 4",
              {case_tensor({3, 12}, gen, -2, 2), case_tensor({3, 12}, gen, -2, 2), case_tensor({3, 4}, gen)}},
             {"B 1, H 1",
              {case_tensor({1, 3}, gen, -2, 2), case_tensor({1, 3}, gen, -2, 2), case_tensor({1, 1}, gen)}}};
       }},
      {"additive_attention_scores", "",
       input_cases({{"B 2, T 3, A 4", {{2, 3, 4}, {2, 4}, {4}}},
                    {"B 1, T 1, A 1", {{1, 1, 1}, {1, 1}, {1}}}})},
  };
}

}  // namespace seqgrad::op_cases
