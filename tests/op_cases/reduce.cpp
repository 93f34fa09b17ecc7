// Cases of the reductions and softmaxes (ops/src/reduce.cpp).
#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

namespace {

CaseGenerator large(Shape s) {  // values near 1000: exp overflows unless the op is stable
  return [s](Generator& gen) {
    return std::vector<OpCase>{{"large values " + to_string(s), {case_tensor(s, gen, 999.0, 1001.0)}}};
  };
}

}  // namespace

std::vector<OpCases> reduce_cases() {
  return {
      {"sum_all", shaped_cases({{3, 4}, {5}, {}})},
      {"sum_axis", shaped_cases({{2, 3, 4}, {3, 1}})},
      {"sum_axes_keepdim", shaped_cases({{2, 3, 4}, {1, 3, 2}})},
      {"mean_axis", shaped_cases({{2, 3, 4}, {3, 1}})},
      {"mean_all", shaped_cases({{2, 3}})},
      {"max_axis", shaped_cases({{2, 5, 3}, {4, 1}})},
      {"max_all_keepdim", shaped_cases({{3, 4}})},
      {"var_axis", shaped_cases({{3, 5}, {2, 3, 4}})},
      {"var_unbiased_axes", shaped_cases({{2, 3, 4}})},
      {"logsumexp_last", shaped_cases({{3, 5}, {2, 1}, {4}})},
      {"logsumexp_inner_keepdim", shaped_cases({{2, 4, 3}})},
      {"logsumexp_large", large({3, 4})},
      {"softmax_last", shaped_cases({{3, 5}, {2, 3, 4}, {4, 1}})},
      {"softmax_inner", shaped_cases({{2, 4, 3}})},
      {"softmax_large", large({2, 6})},
      {"log_softmax_last", shaped_cases({{3, 5}, {1, 4}})},
      {"log_softmax_first", shaped_cases({{4, 3}})},
      {"log_softmax_large", large({2, 6})},
  };
}

}  // namespace seqgrad::op_cases
