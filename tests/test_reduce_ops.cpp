// Reductions and row normalisers: values against hand computations, stability for large inputs,
// where max's gradient goes, masked (-inf) rows, and errors. The catalogue's gradient checks cover
// the gradients on many shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "seqgrad/seqgrad.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using seqgrad::test_support::t64;

namespace {
using Values = std::vector<double>;
void expect_near_all(const Values& got, const Values& want, double tol = 1e-12) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}
}  // namespace

TEST(Reduce, SumOverAxesWithAndWithoutKeepdim) {
  Tensor x = t64({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum(x).to_vector(), (Values{21}));
  EXPECT_EQ(sum(x, {0}).to_vector(), (Values{5, 7, 9}));
  EXPECT_EQ(sum(x, {-1}).shape(), (Shape{2}));
  EXPECT_EQ(sum(x, {-1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(sum(x, {1}).to_vector(), (Values{6, 15}));
  EXPECT_EQ(sum(x, {0, 1}, true).shape(), (Shape{1, 1}));
}

TEST(Reduce, MeanAndVarianceMatchHandValues) {
  Tensor x = t64({1, 2, 3, 4, 6, 8}, {2, 3});
  expect_near_all(mean(x, {1}).to_vector(), {2, 6});
  expect_near_all(var(x, {1}).to_vector(), {2.0 / 3.0, 8.0 / 3.0});
  expect_near_all(var(x, {1}, false, true).to_vector(), {1.0, 4.0});
  expect_near_all(mean(x).to_vector(), {4});
}

TEST(Reduce, MaxSendsTheGradientToTheFirstLargest) {
  Tensor x = t64({1, 7, 7, 3, -2, 0}, {2, 3}).requires_grad_();
  Tensor m = max(x, {1});
  EXPECT_EQ(m.to_vector(), (Values{7, 3}));
  backward(sum(m));
  EXPECT_EQ(x.grad().to_vector(), (Values{0, 1, 0, 1, 0, 0}));
}

TEST(Reduce, ArgmaxIsInt64AndFirstOfTies) {
  Tensor x = t64({1, 7, 7, 3, -2, 9}, {2, 3});
  Tensor a = argmax(x, -1);
  EXPECT_EQ(a.dtype(), DType::i64);
  EXPECT_EQ(a.to_vector(), (Values{1, 2}));
  EXPECT_EQ(argmax(x, 0).to_vector(), (Values{1, 0, 1}));
}

TEST(Reduce, LogsumexpIsStableForLargeValues) {
  Tensor x = t64({1000, 1000, -1000, 999}, {2, 2});
  expect_near_all(logsumexp(x, 1).to_vector(), {1000 + std::log(2.0), 999 + std::log1p(std::exp(-1999.0))}, 1e-9);
  Tensor f = Tensor::from({1000.f, 1001.f}, {2}, DType::f32);
  EXPECT_TRUE(std::isfinite(logsumexp(f, 0).item()));
}

TEST(Reduce, SoftmaxRowsSumToOneAndMatchHandValues) {
  Tensor x = t64({0, std::log(3.0), 1000, 1000}, {2, 2});
  expect_near_all(softmax(x, -1).to_vector(), {0.25, 0.75, 0.5, 0.5});
  expect_near_all(log_softmax(x, -1).to_vector(), {std::log(0.25), std::log(0.75), std::log(0.5), std::log(0.5)});
  // along the first axis: columns sum to one
  Tensor y = softmax(t64({1, 2, 3, 4, 5, 6}, {3, 2}), 0);
  Values v = y.to_vector();
  EXPECT_NEAR(v[0] + v[2] + v[4], 1.0, 1e-12);
  EXPECT_NEAR(v[1] + v[3] + v[5], 1.0, 1e-12);
}

TEST(Reduce, SoftmaxOfMaskedPlacesIsExactlyZeroWithZeroGradient) {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = t64({1, 2, 3, 4}, {1, 4}).requires_grad_();
  Tensor mask = gt(Tensor::from({0, 0, 1, 1}, {1, 4}, DType::f64), 0.5);
  Tensor w = softmax(masked_fill(x, mask, -inf), -1);
  EXPECT_EQ(w.to_vector()[2], 0.0);
  EXPECT_EQ(w.to_vector()[3], 0.0);
  backward(sum(w * t64({1, -2, 3, 5}, {1, 4})));
  EXPECT_EQ(x.grad().to_vector()[2], 0.0);
  EXPECT_EQ(x.grad().to_vector()[3], 0.0);
  // everything masked: zeros, not NaN
  Tensor all = softmax(t64({-inf, -inf}, {1, 2}), -1);
  EXPECT_EQ(all.to_vector(), (Values{0, 0}));
}

TEST(Reduce, ErrorsNameTheOpAndTheShape) {
  Tensor x = t64({1, 2, 3, 4, 5, 6}, {2, 3});
  auto expect_msg = [](auto f, const std::string& frag) {
    try {
      f();
      ADD_FAILURE() << "no exception, expected '" << frag << "'";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
    }
  };
  expect_msg([&] { sum(x, {2}); }, "sum");
  expect_msg([&] { sum(x, {1, -1}); }, "given twice");
  expect_msg([&] { softmax(x, 5); }, "softmax");
  expect_msg([&] { logsumexp(x, -3); }, "logsumexp");
  expect_msg([&] { max(Tensor::zeros({2, 0}, DType::f64), {1}); }, "empty");
  expect_msg([&] { var(t64({1}, {1}), {}, false, true); }, "at least 2");
}

TEST(Reduce, MeanGradientIsUniform) {
  Tensor x = t64({1, 2, 3, 4}, {2, 2}).requires_grad_();
  backward(mean(x));
  EXPECT_EQ(x.grad().to_vector(), (Values{0.25, 0.25, 0.25, 0.25}));
}

// Under create_graph, a row of logsumexp that is all -inf gets a zero gradient (not NaN), as the
// plain backward gives, and so does the gradient of that gradient.
TEST(Reduce, CreateGraphGradientOfAnAllMinusInfinityRowIsZero) {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = Tensor::from({-inf, -inf, 0.5, 1.0}, {2, 2}, DType::f64).requires_grad_();
  const Tensor y = logsumexp(x, 1);
  const Tensor g = grad({y}, {x}, {.grad_outputs = {Tensor::ones({2}, DType::f64)}, .create_graph = true})[0];
  const auto gv = g.to_vector();
  EXPECT_EQ(gv[0], 0.0);
  EXPECT_EQ(gv[1], 0.0);
  EXPECT_NEAR(gv[2] + gv[3], 1.0, 1e-15);
  const auto h = grad({sum(g * g)}, {x})[0].to_vector();
  EXPECT_EQ(h[0], 0.0);
  EXPECT_EQ(h[1], 0.0);
  EXPECT_TRUE(std::isfinite(h[2]) && std::isfinite(h[3]));
}

// Second order runs in float32 too: softmax's Hessian-vector product in float32 agrees with float64.
TEST(Reduce, SecondOrderInFloat32AgreesWithFloat64) {
  Generator gen(9);
  const Tensor values = randn({3, 5}, DType::f64, gen), direction = randn({3, 5}, DType::f64, gen);
  std::vector<std::vector<double>> hvp;
  for (DType dtype : {DType::f64, DType::f32}) {
    Tensor x = values.to(dtype).requires_grad_();
    const Tensor y = softmax(x, 1);
    const Tensor w = Tensor::from({0.3, -1.2, 0.7, 2.0, -0.4}, {5}, dtype);
    const Tensor g = grad({sum(y * w)}, {x}, {.create_graph = true})[0];
    hvp.push_back(grad({sum(g * direction.to(dtype))}, {x})[0].to_vector());
  }
  for (std::size_t i = 0; i < hvp[0].size(); ++i) EXPECT_NEAR(hvp[1][i], hvp[0][i], 1e-5 * (1 + std::abs(hvp[0][i])));
}
