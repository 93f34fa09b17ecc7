// Bad input gets an exception whose message names the op and the offending shapes or values.
#include <gtest/gtest.h>

#include <functional>

#include "seqgrad/seqgrad.hpp"
#include "support/expect_error.hpp"

using namespace seqgrad;
using seqgrad::test_support::expect_error;

TEST(Errors, EveryBinaryOpNamesBothShapes) {
  const Tensor a = Tensor::ones({2, 3}), b = Tensor::ones({4, 5});
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>> ops = {
      {"add", [](auto& x, auto& y) { return add(x, y); }}, {"sub", [](auto& x, auto& y) { return sub(x, y); }},
      {"mul", [](auto& x, auto& y) { return mul(x, y); }}, {"div", [](auto& x, auto& y) { return div(x, y); }},
      {"maximum", [](auto& x, auto& y) { return maximum(x, y); }},
      {"eq", [](auto& x, auto& y) { return eq(x, y); }}, {"lt", [](auto& x, auto& y) { return lt(x, y); }},
      {"where", [](auto& x, auto& y) { return where(gt(x, 0.0), x, y); }}};
  for (const auto& [name, op] : ops) expect_error([&a, &b, &op = op] { op(a, b); }, {name + ":", "[2,3]", "[4,5]"});
}

TEST(Errors, MixedDtypesAreRefused) {
  expect_error([] { add(Tensor::ones({2}), Tensor::ones({2}, DType::f64)); }, {"add:", "float32", "float64"});
  expect_error([] { tanh(Tensor::ones({2}, DType::i64)); }, {"tanh:", "int64"});
}

TEST(Errors, MatmulNamesBothShapes) {
  expect_error([] { matmul(Tensor::ones({2, 3}), Tensor::ones({4, 5})); }, {"matmul", "[2,3]", "[4,5]"});
  expect_error([] { matmul(Tensor::ones({2, 3, 4}), Tensor::ones({3, 4, 5})); }, {"matmul", "batch"});
  expect_error([] { matmul(Tensor::ones({3}), Tensor::ones({3, 4})); }, {"matmul", "[3]"});
  expect_error([] { linear(Tensor::ones({2, 3}), Tensor::ones({4, 5})); }, {"linear", "[2,3]", "[4,5]"});
}

TEST(Errors, MasksMustBeBoolAndFit) {
  expect_error([] { masked_fill(Tensor::ones({2, 3}), Tensor::ones({2, 3}), 0.0); }, {"masked_fill", "bool"});
  expect_error([] { masked_fill(Tensor::ones({2, 3}), gt(Tensor::ones({4}), 0.0), 0.0); },
               {"masked_fill", "[4]", "[2,3]"});
  expect_error([] { clamp(Tensor::ones({2}), 1.0, -1.0); }, {"clamp"});
}
