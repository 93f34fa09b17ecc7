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
      {"sum", "all axes", shaped_cases({{3, 4}, {5}, {}})},
      {"sum", "axis 1", shaped_cases({{2, 3, 4}, {3, 1}}), [](In in) { return sum(in[0], {1}); }},
      {"sum", "axes 0 and -1, keepdim", shaped_cases({{2, 3, 4}, {1, 3, 2}}),
       [](In in) { return sum(in[0], {0, -1}, true); }},
      {"mean", "axis -1", shaped_cases({{2, 3, 4}, {3, 1}}), [](In in) { return mean(in[0], {-1}); }},
      {"mean", "all axes", shaped_cases({{2, 3}})},
      {"max", "axis 1", shaped_cases({{2, 5, 3}, {4, 1}}), [](In in) { return max(in[0], {1}); }},
      {"max", "all axes, keepdim", shaped_cases({{3, 4}}), [](In in) { return max(in[0], {}, true); }},
      {"var", "axis -1", shaped_cases({{3, 5}, {2, 3, 4}}), [](In in) { return var(in[0], {-1}); }},
      {"var", "unbiased, axes 0 and 2", shaped_cases({{2, 3, 4}}), [](In in) { return var(in[0], {0, 2}, true, true); }},
      {"logsumexp", "last axis", shaped_cases({{3, 5}, {2, 1}, {4}}), [](In in) { return logsumexp(in[0], -1); }},
      {"logsumexp", "inner axis, keepdim", shaped_cases({{2, 4, 3}}), [](In in) { return logsumexp(in[0], 1, true); }},
      {"logsumexp", "large values", large({3, 4}), [](In in) { return logsumexp(in[0], -1); }},
      {"softmax", "last axis", shaped_cases({{3, 5}, {2, 3, 4}, {4, 1}})},
      {"softmax", "inner axis", shaped_cases({{2, 4, 3}}), [](In in) { return softmax(in[0], 1); }},
      {"softmax", "large values", large({2, 6})},
      {"log_softmax", "last axis", shaped_cases({{3, 5}, {1, 4}})},
      {"log_softmax", "first axis", shaped_cases({{4, 3}}), [](In in) { return log_softmax(in[0], 0); }},
      {"log_softmax", "large values", large({2, 6})},
  };
}

}  // namespace seqgrad::op_cases
