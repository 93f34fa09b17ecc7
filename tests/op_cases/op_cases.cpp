#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

Tensor case_tensor(const Shape& shape, Generator& gen, double lo, double hi) {
  return rand_uniform(shape, lo, hi, DType::f64, gen);
}

Tensor ids(std::vector<std::int64_t> values, Shape shape) { return Tensor::from_indices(values, shape); }

CaseGenerator shaped_cases(std::vector<Shape> shapes) {
  return [shapes](Generator& gen) {
    std::vector<OpCase> cases;
    for (const Shape& s : shapes) cases.push_back({to_string(s), {case_tensor(s, gen)}});
    return cases;
  };
}

CaseGenerator input_cases(std::vector<InputShapes> rows) {
  return [rows](Generator& gen) {
    std::vector<OpCase> cases;
    for (const InputShapes& row : rows) {
      OpCase c{row.label, {}};
      for (const Shape& s : row.shapes) c.inputs.push_back(case_tensor(s, gen));
      cases.push_back(std::move(c));
    }
    return cases;
  };
}

const std::vector<OpCases>& all_cases() {
  static const std::vector<OpCases> table = [] {
    std::vector<OpCases> all;
#define SEQGRAD_OP_FAMILY(FAMILY, HEADER, SOURCE) \
  for (OpCases& c : FAMILY##_cases()) all.push_back(std::move(c));
#include "seqgrad/ops/op_families.def"
#undef SEQGRAD_OP_FAMILY
    return all;
  }();
  return table;
}

}  // namespace seqgrad::op_cases
