// Cases of the elementwise ops (ops/src/elementwise.cpp).
#include "op_cases/op_cases.hpp"

namespace seqgrad::op_cases {

namespace {

CaseGenerator unary_cases(double lo, double hi) {
  return [lo, hi](Generator& gen) {
    return std::vector<OpCase>{{"[3,4]", {case_tensor({3, 4}, gen, lo, hi)}},
                               {"[2,1,3]", {case_tensor({2, 1, 3}, gen, lo, hi)}},
                               {"scalar []", {case_tensor({}, gen, lo, hi)}}};
  };
}

// A bool mask of the given values (0 or 1).
Tensor mask(const std::vector<double>& values, const Shape& shape) { return gt(Tensor::from(values, shape, DType::f64), 0.5); }

CaseGenerator binary_cases(double lo_b, double hi_b) {
  return [lo_b, hi_b](Generator& gen) {
    std::vector<OpCase> cases;
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{3, 4}, {3, 4}}, {{3, 1}, {4}}, {{2, 3, 4}, {3, 4}}, {{1, 4}, {3, 1}}, {{}, {3}}, {{2, 1, 4}, {2, 3, 1}}};
    for (const auto& [sa, sb] : shapes)
      cases.push_back({to_string(sa) + " with " + to_string(sb),
                       {case_tensor(sa, gen, -1.0, 1.0), case_tensor(sb, gen, lo_b, hi_b)}});
    return cases;
  };
}

}  // namespace

// Kinks (abs, relu, clamp, maximum) are kept away from the sampled values by the ranges below.
std::vector<OpCases> elementwise_cases() {
  return {
      {"neg", "", unary_cases(-1, 1)},
      {"exp", "", unary_cases(-1, 1)},
      {"log", "", unary_cases(0.5, 2)},
      {"sqrt", "", unary_cases(0.5, 2)},
      {"tanh", "", unary_cases(-2, 2)},
      {"sigmoid", "", unary_cases(-3, 3)},
      {"gelu", "", unary_cases(-3, 3)},
      {"abs", "positive side", unary_cases(0.1, 1)},
      {"abs", "negative side", unary_cases(-1, -0.1)},
      {"relu", "positive side", unary_cases(0.1, 1)},
      {"relu", "negative side", unary_cases(-1, -0.1)},
      {"pow", "exponent 2.5", unary_cases(0.5, 2), [](In in) { return pow(in[0], 2.5); }},
      {"clamp", "bounds -0.5, 0.5",
       [](Generator&) {  // values inside, below and above the bounds, none within eps of them
         return std::vector<OpCase>{{"mixed [6]", {Tensor::from({-0.9, -0.3, 0.1, 0.45, 0.7, -0.6}, {6}, DType::f64)}}};
       },
       [](In in) { return clamp(in[0], -0.5, 0.5); }},
      {"affine", "scale -1.5, shift 0.25", unary_cases(-1, 1), [](In in) { return affine(in[0], -1.5, 0.25); }},
      {"add", "", binary_cases(-1, 1)},
      {"sub", "", binary_cases(-1, 1)},
      {"mul", "", binary_cases(-1, 1)},
      {"div", "", binary_cases(0.5, 2)},
      {"maximum", "",
       [](Generator& gen) {  // a and b differ by at least 0.1 everywhere, so no tie sits within eps
         Tensor a = case_tensor({3, 4}, gen, -1, 1);
         std::vector<double> bv = a.to_vector();
         for (std::size_t i = 0; i < bv.size(); ++i) bv[i] += (i % 2 ? 0.3 : -0.3);
         return std::vector<OpCase>{{"[3,4] with [3,4]", {a, Tensor::from(bv, {3, 4}, DType::f64)}}};
       }},
      // Masks with both values, fixed: a random mask may come out all true (with the suite's seed
      // both did), and then a backward that ignored the mask would pass.
      {"where", "",
       [](Generator& gen) {
         return std::vector<OpCase>{
             {"cond [3,1], a [3,4], b [4]", {mask({1, 0, 1}, {3, 1}), case_tensor({3, 4}, gen), case_tensor({4}, gen)}},
             {"cond [2,3], a [3], b [2,1]",
              {mask({0, 1, 1, 1, 0, 0}, {2, 3}), case_tensor({3}, gen), case_tensor({2, 1}, gen)}}};
       }},
      {"masked_fill", "value -3",
       [](Generator& gen) {
         return std::vector<OpCase>{{"mask [1,4] over [3,4]", {case_tensor({3, 4}, gen), mask({1, 0, 0, 1}, {1, 4})}},
                                    {"mask [2,3] over [2,3]", {case_tensor({2, 3}, gen), mask({0, 1, 0, 1, 1, 0}, {2, 3})}}};
       },
       [](In in) { return masked_fill(in[0], in[1], -3.0); }},
  };
}

}  // namespace seqgrad::op_cases
