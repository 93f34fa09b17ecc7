// Cases of the index ops (ops/src/index_ops.cpp). Index tensors are int64 inputs, which the
// gradient checker leaves alone; every case repeats an index, so the scatter-add must sum.
#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

namespace {

OpCall index_select_on(long axis) {
  return [axis](In in) { return index_select(in[0], axis, in[1]); };
}

OpCall gather_on(long axis) {
  return [axis](In in) { return gather(in[0], axis, in[1]); };
}

OpCall index_add_on(long axis) {
  return [axis](In in) { return index_add(in[0], axis, in[1], in[2]); };
}

OpCall scatter_add_on(long axis) {
  return [axis](In in) { return scatter_add(in[0], axis, in[1], in[2]); };
}

}  // namespace

std::vector<OpCases> index_cases() {
  return {
      {"embedding", "",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"weight [7,5], indices [3,4]",
              {case_tensor({7, 5}, gen), ids({5, 6, 6, 1, 4, 1, 6, 2, 3, 1, 5, 0}, {3, 4})}},
             {"weight [4,3], indices [5]", {case_tensor({4, 3}, gen), ids({3, 3, 0, 3, 1}, {5})}},
             {"weight [3,2], scalar index", {case_tensor({3, 2}, gen), ids({2}, {})}}};
       }},
      // padding_idx stops the padding row's gradient although the forward reads that row, so finite
      // differences agree only where padding positions do not reach the result: they are masked out
      // here, as a model's loss masks them. This checks that the other rows' gradients are untouched
      // by padding; that the padding row gets nothing is tested in test_shape_index_ops.cpp.
      {"embedding", "padding_idx 0",
       [](Generator& gen) {
         return std::vector<OpCase>{{"weight [5,3], indices [2,4] with padding 0 masked out",
                                     {case_tensor({5, 3}, gen), ids({1, 0, 4, 0, 0, 4, 4, 2}, {2, 4})}}};
       },
       [](In in) { return masked_fill(embedding(in[0], in[1], 0), unsqueeze(eq(in[1], 0.0), -1), 0.0); }},
      {"index_select", "axis 1",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [2,5,3] axis 1, indices [4,1,1,0]", {case_tensor({2, 5, 3}, gen), ids({4, 1, 1, 0}, {4})}},
             {"x [3,4] axis 1, indices [2,2]", {case_tensor({3, 4}, gen), ids({2, 2}, {2})}}};
       },
       index_select_on(1)},
      {"index_select", "first axis",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [4,3], indices [2,0,2,3,2]", {case_tensor({4, 3}, gen), ids({2, 0, 2, 3, 2}, {5})}},
             {"x [3], indices [1,1]", {case_tensor({3}, gen), ids({1, 1}, {2})}}};
       },
       index_select_on(0)},
      {"index_select", "last axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"x [2,3,4], indices [3,0,3]", {case_tensor({2, 3, 4}, gen), ids({3, 0, 3}, {3})}}};
       },
       index_select_on(-1)},
      {"gather", "axis 1",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [3,4] axis 1, index [3,2]", {case_tensor({3, 4}, gen), ids({3, 3, 0, 1, 2, 0}, {3, 2})}},
             {"x [3,4] axis 1, index [2,5] (smaller on axis 0, larger on axis 1)",
              {case_tensor({3, 4}, gen), ids({0, 1, 2, 3, 0, 3, 3, 3, 1, 2}, {2, 5})}},
             {"x [2,3,4] axis 1, index [2,2,3]",
              {case_tensor({2, 3, 4}, gen), ids({0, 2, 2, 1, 1, 1, 2, 0, 0, 0, 1, 2}, {2, 2, 3})}}};
       },
       gather_on(1)},
      {"gather", "first axis",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [3,2], index [4,2]", {case_tensor({3, 2}, gen), ids({2, 0, 2, 2, 0, 1, 1, 1}, {4, 2})}}};
       },
       gather_on(0)},
      {"gather", "last axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"x [2,3,4], index [2,3,1] (as picking target logits)",
                                     {case_tensor({2, 3, 4}, gen), ids({3, 0, 0, 2, 3, 3}, {2, 3, 1})}}};
       },
       gather_on(-1)},
      // The scatter-adds (the backwards of the ones above): x and source are both differentiated.
      {"index_add", "axis 1",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [2,5,3] axis 1, indices [4,1,1,0], source [2,4,3]",
              {case_tensor({2, 5, 3}, gen), ids({4, 1, 1, 0}, {4}), case_tensor({2, 4, 3}, gen)}},
             {"x [3,4] axis 1, indices [2,2], source [3,2]",
              {case_tensor({3, 4}, gen), ids({2, 2}, {2}), case_tensor({3, 2}, gen)}}};
       },
       index_add_on(1)},
      {"index_add", "first axis",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [4,3], indices [2,0,2,3,2], source [5,3]",
              {case_tensor({4, 3}, gen), ids({2, 0, 2, 3, 2}, {5}), case_tensor({5, 3}, gen)}},
             {"x [3], indices [1,1], source [2]", {case_tensor({3}, gen), ids({1, 1}, {2}), case_tensor({2}, gen)}}};
       },
       index_add_on(0)},
      {"index_add", "last axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"x [2,3,4], indices [3,0,3], source [2,3,3]",
                                     {case_tensor({2, 3, 4}, gen), ids({3, 0, 3}, {3}), case_tensor({2, 3, 3}, gen)}}};
       },
       index_add_on(-1)},
      {"scatter_add", "axis 1",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"x [3,4] axis 1, index and source [3,2]",
              {case_tensor({3, 4}, gen), ids({3, 3, 0, 1, 2, 0}, {3, 2}), case_tensor({3, 2}, gen)}},
             {"x [3,4] axis 1, index and source [2,5] (smaller on axis 0, larger on axis 1)",
              {case_tensor({3, 4}, gen), ids({0, 1, 2, 3, 0, 3, 3, 3, 1, 2}, {2, 5}), case_tensor({2, 5}, gen)}},
             {"x [2,3,4] axis 1, index and source [2,2,3]",
              {case_tensor({2, 3, 4}, gen), ids({0, 2, 2, 1, 1, 1, 2, 0, 0, 0, 1, 2}, {2, 2, 3}),
               case_tensor({2, 2, 3}, gen)}}};
       },
       scatter_add_on(1)},
      {"scatter_add", "first axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"x [3,2], index and source [4,2]",
                                     {case_tensor({3, 2}, gen), ids({2, 0, 2, 2, 0, 1, 1, 1}, {4, 2}),
                                      case_tensor({4, 2}, gen)}}};
       },
       scatter_add_on(0)},
      {"scatter_add", "last axis",
       [](Generator& gen) {
         return std::vector<OpCase>{{"x [2,3,4], index and source [2,3,2]",
                                     {case_tensor({2, 3, 4}, gen), ids({3, 0, 0, 0, 2, 3, 3, 1, 3, 3, 0, 2}, {2, 3, 2}),
                                      case_tensor({2, 3, 2}, gen)}}};
       },
       scatter_add_on(-1)},
  };
}

}  // namespace seqgrad::op_cases
