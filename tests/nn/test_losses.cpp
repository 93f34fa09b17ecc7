// sequence_cross_entropy: the per-token mean over real targets of padded batches, its first and
// second derivatives.
#include <gtest/gtest.h>

#include <cmath>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/nn/losses.hpp"
#include "seqgrad/ops/ops.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using seqgrad::test_support::expect_derivatives;

TEST(SequenceCrossEntropy, IsTheMeanOverRealTokensOnly) {
  // Two sequences of 3 steps over 2 classes; the second has one padded step (target 0 = pad).
  const Tensor logits = Tensor::from({0, 1, 2, 0, 0, 0, 1, 1, 3, 0, 5, -5}, {2, 3, 2}, DType::f64);
  const Tensor targets = Tensor::from_indices({1, 0, 1, 1, 1, 0}, {2, 3});
  const double loss = nn::sequence_cross_entropy(logits, targets, 0).item();
  auto nll = [](double a, double b, int k) { return std::log(std::exp(a) + std::exp(b)) - (k ? b : a); };
  const double want = (nll(0, 1, 1) + nll(0, 0, 1) + nll(1, 1, 1) + nll(3, 0, 1)) / 4;  // four tokens equal 1
  EXPECT_NEAR(loss, want, 1e-12);
}

TEST(SequenceCrossEntropy, FirstAndSecondDerivativesMatchFiniteDifferences) {
  Generator gen(3);
  Tensor logits = rand_uniform({3, 4, 5}, -2, 2, DType::f64, gen).requires_grad_();
  const Tensor targets = Tensor::from_indices({1, 2, 3, 0, 4, 4, 0, 0, 2, 1, 1, 0}, {3, 4});
  for (double smoothing : {0.0, 0.1}) {
    SCOPED_TRACE("label smoothing " + std::to_string(smoothing));
    expect_derivatives("sequence_cross_entropy", [&](const std::vector<Tensor>& in) {
      return nn::sequence_cross_entropy(in[0], targets, 0, smoothing);
    }, {logits});
  }
  // padded positions get exactly zero gradient
  Tensor x = logits.detach().clone().requires_grad_();
  backward(nn::sequence_cross_entropy(x, targets, 0));
  const std::vector<double> g = x.grad().to_vector();
  for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(g[3 * 5 + j], 0.0);  // row 0, step 3 is padding
}

TEST(SequenceCrossEntropy, ShapesMustBeBatchByTime) {
  const Tensor logits = Tensor::zeros({2, 3, 4}, DType::f64);
  EXPECT_THROW(nn::sequence_cross_entropy(logits, Tensor::from_indices({1, 1, 1}, {3}), 0), std::invalid_argument);
  EXPECT_THROW(nn::sequence_cross_entropy(logits, Tensor::from_indices({1, 1, 1, 1}, {2, 2}), 0), std::invalid_argument);
}
