// Embedding, Dropout, LayerNorm and Linear as modules: initialisation as torch, float64 first and
// second derivative checks of parameters and inputs, the padding row's zero gradient, dropout's
// train/eval behaviour, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/nn/layers.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/ops/ops.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using seqgrad::test_support::expect_derivatives;

namespace {

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }

double stddev_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / v.size());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Embedding

TEST(Embedding, WeightIsStandardNormalAndSeeded) {
  Generator a(3), b(3), c(4);
  nn::Embedding ea(200, 50, a), eb(200, 50, b), ec(200, 50, c);
  EXPECT_EQ(ea.weight.shape(), (Shape{200, 50}));
  EXPECT_EQ(ea.weight.dtype(), DType::f32);
  EXPECT_EQ(ea.weight.to_vector(), eb.weight.to_vector());
  EXPECT_NE(ea.weight.to_vector(), ec.weight.to_vector());
  // 10,000 draws: mean within ~5 standard errors of 0, stddev close to 1 (U(-1,1) would give 0.58).
  const auto w = ea.weight.to_vector();
  EXPECT_NEAR(mean_of(w), 0.0, 0.05);
  EXPECT_NEAR(stddev_of(w), 1.0, 0.05);
  EXPECT_EQ(ea.named_parameters().size(), 1u);
  EXPECT_EQ(ea.named_parameters()[0].first, "weight");
}

TEST(Embedding, PaddingRowStartsAtZero) {
  Generator gen(1);
  nn::Embedding e(6, 4, gen, {.padding_idx = 2});
  const auto w = e.weight.to_vector();
  for (std::size_t r = 0; r < 6; ++r)
    for (std::size_t c = 0; c < 4; ++c) {
      if (r == 2) EXPECT_EQ(w[r * 4 + c], 0.0);
      else EXPECT_NE(w[r * 4 + c], 0.0);
    }
}

TEST(Embedding, ForwardPicksRows) {
  Generator gen(1);
  nn::Embedding e(5, 3, gen, {.dtype = DType::f64});
  const Tensor idx = Tensor::from_indices({4, 0, 4, 2}, {2, 2});
  const Tensor y = e(idx);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  const auto w = e.weight.to_vector(), out = y.to_vector();
  const std::vector<int> rows{4, 0, 4, 2};
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(out[i * 3 + c], w[rows[i] * 3 + c]);
}

// The true gradient. (With a padding index in use it deliberately differs from finite differences:
// the padding row's gradient is withheld, checked exactly in the next test.) The lookup is linear in
// the weight: its second derivatives are those through the upstream gradient (rows scattered back).
TEST(Embedding, GradcheckAndGradgradcheckFloat64) {
  Generator gen(5);
  nn::Embedding e(5, 3, gen, {.dtype = DType::f64});
  const Tensor idx = Tensor::from_indices({3, 1, 0, 3, 4, 1}, {2, 3});  // repeated indices, row 2 unused
  expect_derivatives("Embedding", [&](const std::vector<Tensor>&) { return e(idx); }, {e.weight});
}

TEST(Embedding, PaddingRowGetsExactlyZeroGradient) {
  Generator gen(5);
  nn::Embedding e(4, 3, gen, {.padding_idx = 0, .dtype = DType::f64});
  const Tensor idx = Tensor::from_indices({0, 2, 0, 2, 3}, {5});
  const Tensor upstream = randn({5, 3}, DType::f64, gen);
  backward(e(idx), upstream);
  const auto g = e.weight.grad().to_vector(), u = upstream.to_vector();
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(g[0 * 3 + c], 0.0);                          // padding row: used twice, no gradient
    EXPECT_EQ(g[1 * 3 + c], 0.0);                          // unused row
    EXPECT_DOUBLE_EQ(g[2 * 3 + c], u[1 * 3 + c] + u[3 * 3 + c]);  // repeated index: gradients add
    EXPECT_DOUBLE_EQ(g[3 * 3 + c], u[4 * 3 + c]);
  }
}

TEST(Embedding, Errors) {
  Generator gen(1);
  EXPECT_THROW(nn::Embedding(4, 3, gen, {.padding_idx = 4}), std::invalid_argument);
  EXPECT_THROW(nn::Embedding(0, 3, gen), std::invalid_argument);
  EXPECT_THROW(nn::Embedding(4, 3, gen, {.dtype = DType::i64}), std::invalid_argument);
  nn::Embedding e(4, 3, gen);
  try {
    e(Tensor::zeros({2, 2}));
    FAIL() << "float indices accepted";
  } catch (const std::invalid_argument& err) {
    EXPECT_NE(std::string(err.what()).find("Embedding"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("[2,2]"), std::string::npos) << err.what();
  }
  EXPECT_THROW(e(Tensor::from_indices({1, 4}, {2})), std::out_of_range);
}

// ---------------------------------------------------------------------------------------------
// Dropout

TEST(Dropout, TrainingZeroesAboutPAndScalesTheRest) {
  nn::Dropout d(0.3, /*seed=*/11);
  ASSERT_TRUE(d.is_training());
  const Tensor x = Tensor::full({100, 100}, 2.0, DType::f64);
  const auto y = d(x).to_vector();
  std::size_t zeros = 0;
  for (double v : y) {
    if (v == 0.0) ++zeros;
    else EXPECT_DOUBLE_EQ(v, 2.0 / 0.7);
  }
  EXPECT_NEAR(static_cast<double>(zeros) / y.size(), 0.3, 0.02);  // 10,000 draws: sd 0.0046
}

TEST(Dropout, EvalIsIdentity) {
  nn::Dropout d(0.5, 1);
  d.eval();
  Generator gen(2);
  const Tensor x = randn({4, 5}, DType::f64, gen);
  EXPECT_EQ(d(x).to_vector(), x.to_vector());
}

TEST(Dropout, SeedFixesTheMasksAndCallsDiffer) {
  nn::Dropout a(0.5, 7), b(0.5, 7);
  const Tensor x = Tensor::ones({64});
  const auto first = a(x).to_vector();
  EXPECT_EQ(first, b(x).to_vector());
  EXPECT_NE(first, a(x).to_vector());  // the generator advanced
}

TEST(Dropout, GradientIsTheMaskScaled) {
  nn::Dropout d(0.25, 3);
  Tensor x = Tensor::full({50}, 1.0, DType::f64).requires_grad_();
  const Tensor y = d(x);
  backward(sum(y));
  // y = x * mask / (1 - p) with x = 1, so dy/dx equals y elementwise.
  EXPECT_EQ(x.grad().to_vector(), y.to_vector());
}

TEST(Dropout, Errors) {
  EXPECT_THROW(nn::Dropout(-0.1), std::invalid_argument);
  EXPECT_THROW(nn::Dropout(1.5), std::invalid_argument);
  EXPECT_THROW(nn::Dropout(std::nan("")), std::invalid_argument);
  EXPECT_NO_THROW(nn::Dropout(0.0));
}

// ---------------------------------------------------------------------------------------------
// LayerNorm

TEST(LayerNorm, DefaultsAsTorch) {
  nn::LayerNorm ln(4);
  EXPECT_EQ(ln.weight.to_vector(), std::vector<double>(4, 1.0));
  EXPECT_EQ(ln.bias.to_vector(), std::vector<double>(4, 0.0));
  EXPECT_EQ(ln.eps(), 1e-5);
  std::vector<std::string> names;
  for (auto& [n, _] : ln.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
  nn::LayerNorm plain(4, {.elementwise_affine = false});
  EXPECT_TRUE(plain.named_parameters().empty());
}

TEST(LayerNorm, NormalisesEachRow) {
  nn::LayerNorm ln(5, {.eps = 1e-12, .dtype = DType::f64});
  const Tensor x = Tensor::from({1, 2, 3, 4, 5, -10, 0, 10, 20, 30}, {2, 5}, DType::f64);
  const auto y = ln(x).to_vector();
  for (int r = 0; r < 2; ++r) {
    const std::vector<double> row(y.begin() + r * 5, y.begin() + r * 5 + 5);
    EXPECT_NEAR(mean_of(row), 0.0, 1e-12);
    EXPECT_NEAR(stddev_of(row), 1.0, 1e-9);  // biased variance, as torch
  }
  EXPECT_NEAR(y[0], -2.0 / std::sqrt(2.0), 1e-9);  // (1 - 3) / sqrt(var = 2)
}

TEST(LayerNorm, GradcheckAndGradgradcheckFloat64) {
  Generator gen(9);
  nn::LayerNorm ln(4, {.dtype = DType::f64});
  // Move weight and bias away from ones and zeros so their gradients are exercised in general.
  ln.weight.copy_from_(randn({4}, DType::f64, gen));
  ln.bias.copy_from_(randn({4}, DType::f64, gen));
  Tensor x = randn({2, 3, 4}, DType::f64, gen).requires_grad_();
  expect_derivatives("LayerNorm", [&](const std::vector<Tensor>& in) { return ln(in[0]); }, {x, ln.weight, ln.bias});
}

TEST(LayerNorm, WrongSizeThrowsNamingTheShapes) {
  nn::LayerNorm ln(4);
  try {
    ln(Tensor::zeros({2, 3}));
    FAIL() << "accepted a [2,3] input";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("LayerNorm"), std::string::npos) << what;
    EXPECT_NE(what.find("[2,3]"), std::string::npos) << what;
  }
  EXPECT_THROW(nn::LayerNorm(0), std::invalid_argument);
  EXPECT_THROW(nn::LayerNorm(4, {.eps = 0.0}), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Linear

TEST(Linear, GradcheckAndGradgradcheckFloat64) {
  Generator gen(11);
  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "with bias" : "without bias");
    nn::Linear linear(4, 3, gen, {.bias = bias, .dtype = DType::f64});
    std::vector<Tensor> inputs = {rand_uniform({2, 3, 4}, -1.0, 1.0, DType::f64, gen).requires_grad_()};
    for (const auto& p : linear.parameters()) inputs.push_back(p);
    expect_derivatives("Linear", [&](const std::vector<Tensor>& in) { return linear(in[0]); }, inputs);
  }
}
