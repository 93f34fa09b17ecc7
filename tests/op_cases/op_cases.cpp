#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

Tensor case_tensor(const Shape& shape, Generator& gen, double lo, double hi) {
  return rand_uniform(shape, lo, hi, DType::f64, gen);
}

CaseGenerator shaped_cases(std::vector<Shape> shapes) {
  return [shapes](Generator& gen) {
    std::vector<OpCase> cases;
    for (const Shape& s : shapes) cases.push_back({to_string(s), {case_tensor(s, gen)}});
    return cases;
  };
}

const std::vector<OpCases>& all_cases() {
  static const std::vector<OpCases> table = [] {
    std::vector<OpCases> all;
    for (auto family : {elementwise_cases, linalg_cases, reduce_cases, shape_cases, index_cases, nn_cases})
      for (OpCases& c : family()) all.push_back(std::move(c));
    return all;
  }();
  return table;
}

}  // namespace seqgrad::op_cases
