// dropout, layer_norm, cross_entropy, gru_cell_gates and additive_attention_scores: values against
// hand computations (and, for the fused GRU and attention ops, against the same equations composed from
// primitive ops), the training flag, ignore_index and label smoothing, and errors. Gradients are
// checked through the catalogue.
#include <gtest/gtest.h>

#include <cmath>

#include "seqgrad/seqgrad.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using seqgrad::test_support::t64;

namespace {
using Values = std::vector<double>;
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

TEST(Dropout, ScopedDefaultGeneratorGivesTheMasksAndNestedScopesRestore) {
  const Tensor x = Tensor::ones({64});
  Generator outer(5), inner(6), same_as_outer(5), same_as_inner(6);
  Values from_inner, after_inner;
  {
    const DefaultGeneratorScope a(outer);
    {
      const DefaultGeneratorScope b(inner);
      from_inner = dropout(x, 0.5, true).to_vector();  // the default generator argument: `inner`
    }
    after_inner = dropout(x, 0.5, true).to_vector();   // `outer` again
  }
  EXPECT_EQ(from_inner, dropout(x, 0.5, true, same_as_inner).to_vector());
  EXPECT_EQ(after_inner, dropout(x, 0.5, true, same_as_outer).to_vector());
  EXPECT_NE(from_inner, after_inner);
  // Outside every scope the thread's own generator is back: `outer` draws nothing more.
  Generator snapshot = outer;
  dropout(x, 0.5, true);
  EXPECT_EQ(outer.next_u64(), snapshot.next_u64());
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

TEST(GruCellGates, MatchesTheGateEquationsComposed) {
  for (DType dtype : {DType::f64, DType::f32}) {
    Generator gen(5);
    const std::size_t B = 3, H = 5;
    const Tensor xp = rand_uniform({B, 3 * H}, -2, 2, dtype, gen), hp = rand_uniform({B, 3 * H}, -2, 2, dtype, gen);
    const Tensor h = rand_uniform({B, H}, -1, 1, dtype, gen);
    const std::vector<Tensor> x = split(xp, H, 1), p = split(hp, H, 1);
    const Tensor r = sigmoid(x[0] + p[0]), z = sigmoid(x[1] + p[1]);
    const Tensor n = tanh(x[2] + r * p[2]);
    const Values want = ((1.0 - z) * n + z * h).to_vector(), got = gru_cell_gates(xp, hp, h).to_vector();
    const double tol = dtype == DType::f64 ? 1e-14 : 1e-6;
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << i;
  }
}

TEST(GruCellGates, GradientsOnlyWhereAsked) {
  Generator gen(6);
  const Tensor xp = rand_uniform({2, 6}, -1, 1, DType::f64, gen), h = rand_uniform({2, 2}, -1, 1, DType::f64, gen);
  Tensor hp = rand_uniform({2, 6}, -1, 1, DType::f64, gen);
  hp.requires_grad_();
  backward(sum(gru_cell_gates(xp, hp, h)));
  EXPECT_TRUE(hp.grad().defined());
  EXPECT_FALSE(xp.grad().defined());
  EXPECT_FALSE(h.grad().defined());
}

TEST(GruCellGates, RejectsMismatchedShapes) {
  const Tensor h = Tensor::zeros({2, 4});
  EXPECT_THROW(gru_cell_gates(Tensor::zeros({2, 12}), Tensor::zeros({2, 11}), h), std::invalid_argument);
  EXPECT_THROW(gru_cell_gates(Tensor::zeros({2, 8}), Tensor::zeros({2, 8}), h), std::invalid_argument);
  EXPECT_THROW(gru_cell_gates(Tensor::zeros({3, 12}), Tensor::zeros({3, 12}), h), std::invalid_argument);
  EXPECT_THROW(gru_cell_gates(Tensor::zeros({2, 12}, DType::f64), Tensor::zeros({2, 12}), h), std::invalid_argument);
}

TEST(AdditiveAttentionScores, MatchesTheScoreComposed) {
  for (DType dtype : {DType::f64, DType::f32}) {
    Generator gen(7);
    const std::size_t B = 3, T = 4, A = 5;
    const Tensor keys = rand_uniform({B, T, A}, -2, 2, dtype, gen), query = rand_uniform({B, A}, -2, 2, dtype, gen);
    const Tensor v = rand_uniform({A}, -1, 1, dtype, gen);
    const Tensor energy = tanh(keys + reshape(query, {B, 1, A}));
    const Values want = reshape(matmul(energy, reshape(v, {A, 1})), {B, T}).to_vector();
    const Tensor got = additive_attention_scores(keys, query, v);
    ASSERT_EQ(got.shape(), (Shape{B, T}));
    const Values g = got.to_vector();
    const double tol = dtype == DType::f64 ? 1e-14 : 1e-5;
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], tol) << i;
  }
}

TEST(AdditiveAttentionScores, RejectsMismatchedShapes) {
  const Tensor keys = Tensor::zeros({2, 3, 4});
  EXPECT_THROW(additive_attention_scores(keys, Tensor::zeros({2, 5}), Tensor::zeros({4})), std::invalid_argument);
  EXPECT_THROW(additive_attention_scores(keys, Tensor::zeros({3, 4}), Tensor::zeros({4})), std::invalid_argument);
  EXPECT_THROW(additive_attention_scores(keys, Tensor::zeros({2, 4}), Tensor::zeros({5})), std::invalid_argument);
  EXPECT_THROW(additive_attention_scores(Tensor::zeros({6, 4}), Tensor::zeros({2, 4}), Tensor::zeros({4})),
               std::invalid_argument);
}

TEST(AdditiveAttentionScores, GradientsOnlyWhereAskedMatchTheFullBackward) {
  Generator gen(8);
  const Tensor keys_data = rand_uniform({2, 3, 4}, -1, 1, DType::f64, gen);
  const Tensor query_data = rand_uniform({2, 4}, -1, 1, DType::f64, gen), v = rand_uniform({4}, -1, 1, DType::f64, gen);
  Tensor keys_all = keys_data.clone(), query_all = query_data.clone(), v_all = v.clone();
  keys_all.requires_grad_();
  query_all.requires_grad_();
  v_all.requires_grad_();
  backward(sum(additive_attention_scores(keys_all, query_all, v_all) * additive_attention_scores(keys_all, query_all, v_all)));
  Tensor keys_only = keys_data.clone();
  keys_only.requires_grad_();
  backward(sum(additive_attention_scores(keys_only, query_data, v) * additive_attention_scores(keys_only, query_data, v)));
  EXPECT_EQ(keys_only.grad().to_vector(), keys_all.grad().to_vector());
  Tensor query_only = query_data.clone();
  query_only.requires_grad_();
  backward(sum(additive_attention_scores(keys_data, query_only, v) * additive_attention_scores(keys_data, query_only, v)));
  EXPECT_EQ(query_only.grad().to_vector(), query_all.grad().to_vector());
}
