// dropout, layer_norm and cross_entropy: values against hand computations, the training flag,
// ignore_index and label smoothing, and errors. Gradients are checked through the catalogue.
#include <gtest/gtest.h>

#include <cmath>

#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;

namespace {
using Values = std::vector<double>;
Tensor t64(Values v, const Shape& s) { return Tensor::from(v, s, DType::f64); }
Tensor ids(std::vector<std::int64_t> v) { return Tensor::from_indices(v, {v.size()}); }
}  // namespace

TEST(Dropout, IdentityInEvalAndScaledInTraining) {
  Tensor x = Tensor::ones({1000}, DType::f64);
  Generator gen(3);
  EXPECT_EQ(dropout(x, 0.5, false, gen).to_vector(), x.to_vector());
  Values y = dropout(x, 0.25, true, gen).to_vector();
  std::size_t zeros = 0;
  for (double v : y) {
    if (v == 0.0) ++zeros;
    else EXPECT_DOUBLE_EQ(v, 1.0 / 0.75);
  }
  EXPECT_GT(zeros, 180u);  // 250 expected; binomial sd ~14
  EXPECT_LT(zeros, 320u);
  EXPECT_EQ(dropout(x, 1.0, true, gen).to_vector(), Values(1000, 0.0));
  EXPECT_THROW(dropout(x, 1.5, true, gen), std::invalid_argument);
}

TEST(Dropout, SameSeedSameMask) {
  Tensor x = Tensor::ones({64}, DType::f32);
  Generator a(9), b(9);
  EXPECT_EQ(dropout(x, 0.5, true, a).to_vector(), dropout(x, 0.5, true, b).to_vector());
}

TEST(LayerNorm, NormalisesTheLastDimension) {
  Tensor x = t64({1, 2, 3, 10, 20, 30}, {2, 3});
  Tensor w = t64({1, 2, 1}, {3}), b = t64({0, 0, 1}, {3});
  const double s = 1.0 / std::sqrt(2.0 / 3.0 + 1e-5);
  const double s2 = 1.0 / std::sqrt(200.0 / 3.0 + 1e-5);
  Values y = layer_norm(x, w, b).to_vector();
  Values want = {-s, 0, s + 1, -10 * s2, 0, 10 * s2 + 1};
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(y[i], want[i], 1e-12);
  EXPECT_THROW(layer_norm(x, t64({1, 2}, {2}), b), std::invalid_argument);
}

TEST(CrossEntropy, MatchesTheFormulaWithIgnoreAndSmoothing) {
  Tensor logits = t64({1, 2, 3, 0, 0, 0, 5, -1, 2}, {3, 3});
  auto lse = [](double a, double b, double c) { return std::log(std::exp(a) + std::exp(b) + std::exp(c)); };
  const double l0 = lse(1, 2, 3), l2 = lse(5, -1, 2);
  // rows 0 and 2 count (row 1 is ignored)
  const double plain = ((l0 - 3) + (l2 - 5)) / 2;
  EXPECT_NEAR(cross_entropy(logits, ids({2, -100, 0})).item(), plain, 1e-12);
  const double s = 0.1;
  auto smooth = [&](double lse_r, double target_logit, double sum_logits) {
    return (1 - s) * (lse_r - target_logit) + s / 3 * (3 * lse_r - sum_logits);
  };
  const double smoothed = (smooth(l0, 3, 6) + smooth(l2, 5, 6)) / 2;
  EXPECT_NEAR(cross_entropy(logits, ids({2, 7, 0}), {.ignore_index = 7, .label_smoothing = s}).item(), smoothed,
              1e-12);
}

TEST(CrossEntropy, IgnoredRowsGetZeroGradient) {
  Tensor logits = t64({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  backward(cross_entropy(logits, ids({0, -100})));
  Values g = logits.grad().to_vector();
  EXPECT_EQ(g[3], 0.0);
  EXPECT_EQ(g[4], 0.0);
  EXPECT_EQ(g[5], 0.0);
  EXPECT_LT(g[0], 0.0);
}

TEST(CrossEntropy, BadTargetsAreErrors) {
  Tensor logits = t64({1, 2, 3, 4, 5, 6}, {2, 3});
  try {
    cross_entropy(logits, ids({0, 3}));
    ADD_FAILURE() << "no exception";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("target 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cross_entropy(logits, ids({0, 1, 2})), std::invalid_argument);
  EXPECT_THROW(cross_entropy(logits, t64({0, 1}, {2})), std::invalid_argument);
}
