// Cases of the index ops (ops/src/index_ops.cpp). Index tensors are int64 inputs, which the
// gradient checker leaves alone; every case repeats an index, so the scatter-add must sum.
#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

namespace {

Tensor ids(std::vector<std::int64_t> v, Shape s) { return Tensor::from_indices(v, s); }

}  // namespace

std::vector<OpCases> index_cases() {
  return {
      {"embedding",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"weight [7,5], indices [3,4]",
              {case_tensor({7, 5}, gen), ids({5, 6, 6, 1, 4, 1, 6, 2, 3, 1, 5, 0}, {3, 4})}},
             {"weight [4,3], indices [5]", {case_tensor({4, 3}, gen), ids({3, 3, 0, 3, 1}, {5})}},
             {"weight [3,2], scalar index", {case_tensor({3, 2}, gen), ids({2}, {})}}};
       }},
      // Padding positions are masked out of the result (see the op's entry in index_ops.cpp).
      {"embedding_padding_idx",
       [](Generator& gen) {
         return std::vector<OpCase>{{"weight [5,3], indices [2,4] with padding 0 masked out",
                                     {case_tensor({5, 3}, gen), ids({1, 0, 4, 0, 0, 4, 4, 2}, {2, 4})}}};
       }},
      {"index_select",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [2,5,3] axis 1, indices [4,1,1,0]", {case_tensor({2, 5, 3}, gen), ids({4, 1, 1, 0}, {4})}},
             {"x [3,4] axis 1, indices [2,2]", {case_tensor({3, 4}, gen), ids({2, 2}, {2})}}};
       }},
      {"index_select_first_axis",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [4,3], indices [2,0,2,3,2]", {case_tensor({4, 3}, gen), ids({2, 0, 2, 3, 2}, {5})}},
             {"x [3], indices [1,1]", {case_tensor({3}, gen), ids({1, 1}, {2})}}};
       }},
      {"index_select_last_axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"x [2,3,4], indices [3,0,3]", {case_tensor({2, 3, 4}, gen), ids({3, 0, 3}, {3})}}};
       }},
      {"gather",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [3,4] axis 1, index [3,2]", {case_tensor({3, 4}, gen), ids({3, 3, 0, 1, 2, 0}, {3, 2})}},
             {"x [3,4] axis 1, index [2,5] (smaller on axis 0, larger on axis 1)",
              {case_tensor({3, 4}, gen), ids({0, 1, 2, 3, 0, 3, 3, 3, 1, 2}, {2, 5})}},
             {"x [2,3,4] axis 1, index [2,2,3]",
              {case_tensor({2, 3, 4}, gen), ids({0, 2, 2, 1, 1, 1, 2, 0, 0, 0, 1, 2}, {2, 2, 3})}}};
       }},
      {"gather_first_axis",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [3,2], index [4,2]", {case_tensor({3, 2}, gen), ids({2, 0, 2, 2, 0, 1, 1, 1}, {4, 2})}}};
       }},
      {"gather_last_axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"x [2,3,4], index [2,3,1] (as picking target logits)",
                                     {case_tensor({2, 3, 4}, gen), ids({3, 0, 0, 2, 3, 3}, {2, 3, 1})}}};
       }},
  };
}

}  // namespace seqgrad::op_cases
