// The backward walk, grad mode, retain_graph, anomaly mode, graph export, threads and the pool.
#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;

namespace {
Tensor leaf(std::vector<double> v, Shape s) { return Tensor::from(v, s, DType::f64).requires_grad_(); }
}  // namespace

TEST(Backward, PolynomialGradient) {
  Tensor x = leaf({1.0, -2.0, 0.5}, {3});
  Tensor y = x * x + x * 3.0;  // dy/dx = 2x + 3, summed by a ones-upstream
  backward(y, Tensor::ones({3}, DType::f64));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{5.0, -1.0, 4.0}));
}

TEST(Backward, FanOutSumsAndLeafGradsAccumulateUntilZeroed) {
  Tensor x = leaf({2.0}, {1});
  Tensor a = tanh(x);
  Tensor y = a * a + a;  // a used three times
  backward(y, Tensor::ones({1}, DType::f64));
  const double t = std::tanh(2.0), expected = (2 * t + 1) * (1 - t * t);
  EXPECT_NEAR(x.grad().item(), expected, 1e-12);
  Tensor y2 = x * 2.0;
  backward(y2, Tensor::ones({1}, DType::f64));
  EXPECT_NEAR(x.grad().item(), expected + 2.0, 1e-12);  // accumulated, as PyTorch
  x.zero_grad();
  EXPECT_EQ(x.grad().item(), 0.0);
}

TEST(Backward, SecondBackwardNeedsRetainGraph) {
  Tensor x = leaf({0.3, 0.4}, {2});
  Tensor y = tanh(x) * x;
  backward(y, Tensor::ones({2}, DType::f64), {.retain_graph = true});
  const auto once = x.grad().to_vector();
  backward(y, Tensor::ones({2}, DType::f64));
  EXPECT_NEAR(x.grad().to_vector()[1], 2 * once[1], 1e-12);
  try {
    backward(y, Tensor::ones({2}, DType::f64));
    FAIL() << "a third backward through a freed graph must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST(Backward, NonScalarNeedsAnUpstreamGradient) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x * 2.0;
  try {
    backward(y);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(backward(y, Tensor::ones({3}, DType::f64)), std::invalid_argument);
}

TEST(Backward, NoGradDetachAndConstantsRecordNothing) {
  Tensor x = leaf({1, 2}, {2});
  Tensor c = Tensor::from({3, 4}, {2}, DType::f64);  // requires no grad
  {
    NoGradGuard guard;
    EXPECT_FALSE((x * 2.0).requires_grad());
  }
  EXPECT_TRUE(is_grad_enabled());
  EXPECT_FALSE((x.detach() * 2.0).requires_grad());
  Tensor y = x * c;
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(y.grad_fn()->next[1], nullptr);  // the constant's edge is cut: backward skips it
  backward(y, Tensor::ones({2}, DType::f64));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{3, 4}));
  EXPECT_FALSE(c.grad().defined());
  EXPECT_THROW(backward(c * 2.0, Tensor::ones({2}, DType::f64)), std::invalid_argument);
}

TEST(Backward, ResultsCannotBeMarkedAsLeaves) {
  Tensor x = leaf({1}, {1});
  Tensor y = x * 2.0;
  EXPECT_FALSE(y.is_leaf());
  EXPECT_THROW(y.requires_grad_(), std::invalid_argument);
}

TEST(AnomalyMode, NamesTheFirstOpThatMakesANaN) {
  Tensor x = leaf({-1.0, 2.0}, {2});
  EXPECT_NO_THROW(log(x));  // off by default
  AnomalyModeGuard on;
  try {
    Tensor y = exp(log(x));
    FAIL() << "log(-1) must be reported";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'log'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;
  }
}

TEST(AnomalyMode, ChecksGradientsInBackward) {
  Tensor x = leaf({0.0}, {1});
  Tensor y = sqrt(x);  // finite forward, infinite gradient at 0
  AnomalyModeGuard on;
  try {
    backward(y, Tensor::ones({1}, DType::f64));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("backward of sqrt"), std::string::npos) << e.what();
  }
}

// A weight used by many thin products (one row each, as an RNN's at batch 1) gets its gradient terms
// summed in one product at the end of the walk (GradInputs::accumulate_product); the result must be
// the exact sum, also mixed with a thick use that is added at once.
namespace {
struct ThinUses {
  static constexpr std::size_t steps = 12, out = 3, in = 4;
  std::vector<Tensor> xs, cs;  // inputs [1, in] and the loss's constant weights [1, out] per use
  ThinUses() {
    Generator gen(7);
    for (std::size_t t = 0; t < steps; ++t) {
      xs.push_back(rand_uniform({1, in}, -1, 1, DType::f64, gen));
      cs.push_back(rand_uniform({1, out}, -1, 1, DType::f64, gen));
    }
  }
  // loss = sum_t sum(linear(x_t, w) * c_t), so dL/dw = sum_t c_t^T x_t (scaled by `scale`)
  Tensor loss(const Tensor& w) const {
    Tensor total = Tensor::zeros({}, DType::f64);
    for (std::size_t t = 0; t < steps; ++t) total = total + sum(linear(xs[t], w) * cs[t]);
    return total;
  }
  std::vector<double> expected_grad(double scale) const {
    std::vector<double> g(out * in, 0.0);
    for (std::size_t t = 0; t < steps; ++t) {
      const auto x = xs[t].to_vector(), c = cs[t].to_vector();
      for (std::size_t i = 0; i < out; ++i)
        for (std::size_t j = 0; j < in; ++j) g[i * in + j] += scale * c[i] * x[j];
    }
    return g;
  }
};

void expect_all_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-12) << "element " << k;
}
}  // namespace

TEST(DeferredWeightGradients, ThinUsesOfALeafSumToTheExactGradient) {
  const ThinUses uses;
  Generator gen(3);
  Tensor w = rand_uniform({ThinUses::out, ThinUses::in}, -1, 1, DType::f64, gen).requires_grad_();
  Tensor thick_x = rand_uniform({40, ThinUses::in}, -1, 1, DType::f64, gen);  // 40 rows: added at once
  backward(uses.loss(w) + sum(linear(thick_x, w)));
  std::vector<double> want = uses.expected_grad(1.0);
  const auto xs = thick_x.to_vector();
  for (std::size_t r = 0; r < 40; ++r)
    for (std::size_t i = 0; i < ThinUses::out; ++i)
      for (std::size_t j = 0; j < ThinUses::in; ++j) want[i * ThinUses::in + j] += xs[r * ThinUses::in + j];
  expect_all_near(w.grad().to_vector(), want);
  // The same leaf through matmul (x w^T with the transpose flag), into a gradient that already holds a value.
  Tensor total = Tensor::zeros({}, DType::f64);
  for (std::size_t t = 0; t < ThinUses::steps; ++t) total = total + sum(matmul(uses.xs[t], w, false, true) * uses.cs[t]);
  backward(total);
  std::vector<double> twice = want;
  const std::vector<double> once_more = uses.expected_grad(1.0);
  for (std::size_t k = 0; k < twice.size(); ++k) twice[k] += once_more[k];
  expect_all_near(w.grad().to_vector(), twice);
}

TEST(DeferredWeightGradients, AComputedWeightGetsItsWholeGradientBeforeItsOwnBackward) {
  // v = 2 w is not a leaf: its node must see every use's term before it passes the gradient on to w.
  const ThinUses uses;
  Generator gen(5);
  Tensor w = rand_uniform({ThinUses::out, ThinUses::in}, -1, 1, DType::f64, gen).requires_grad_();
  backward(uses.loss(w * 2.0));
  expect_all_near(w.grad().to_vector(), uses.expected_grad(2.0));
}

TEST(DeferredWeightGradients, AnomalyModeChecksTheSummedGradient) {
  // Finite forward (x w^T = 1), but dL/dw = c^T x = 1e400 overflows: found when the held terms are summed.
  Tensor w = Tensor::from({1e-200}, {1, 1}, DType::f64).requires_grad_();
  Tensor x = Tensor::from({1e200}, {1, 1}, DType::f64), c = Tensor::from({1e200}, {1, 1}, DType::f64);
  AnomalyModeGuard on;
  try {
    backward(sum(linear(x, w) * c));
    FAIL() << "the infinite weight gradient must be reported";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("backward of linear"), std::string::npos) << e.what();
  }
}

// An op's first gradient for an input is written into an unfilled buffer (GradInputs::buffer_to_write);
// when both inputs are one tensor, the second must add to what the first wrote.
TEST(FreshGradientBuffers, OneTensorAsBothInputsGetsBothTerms) {
  Tensor w = leaf({1, 2, 3, -1, 0.5, 4}, {2, 3});
  // L = sum(W W^T): dL/dW[i,k] = 2 sum_r W[r,k]
  backward(sum(matmul(w, w, false, true)));
  expect_all_near(w.grad().to_vector(), {0, 5, 14, 0, 5, 14});
  Tensor x = leaf({1.5, -2}, {2});
  Tensor h = tanh(x);  // an interior node: its gradient buffer starts unfilled
  backward(sum(h * h));  // d/dx sum(tanh^2) = 2 tanh (1 - tanh^2)
  const auto g = x.grad().to_vector();
  for (std::size_t k = 0; k < 2; ++k) {
    const double t = std::tanh(k == 0 ? 1.5 : -2.0);
    EXPECT_NEAR(g[k], 2 * t * (1 - t * t), 1e-14);
  }
}

TEST(FreshGradientBuffers, OnlyTheFirstRequestIsFresh) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x * 2.0;  // y's node feeds x's accumulator: input 0 of y's node
  bool fresh = true;
  GradInputs g(y.grad_fn()->next);
  Tensor& first = g.buffer_to_write(0, fresh);
  EXPECT_TRUE(fresh);  // x has no gradient yet
  first.fill_(3.0);
  Tensor& again = g.buffer_to_write(0, fresh);
  EXPECT_FALSE(fresh);
  EXPECT_EQ(again.to_vector(), (std::vector<double>{3, 3}));
  EXPECT_EQ(&again, &x.grad());  // a leaf's buffer is its .grad
}

// A reshape's backward hands the walk's gradient buffer on to its input (GradInputs::pass_on) when
// nothing else holds it: later terms then add into that buffer, so a buffer someone else holds (the
// caller's upstream gradient, a gradient grad() returns) must be copied instead, and a leaf keeps a
// .grad of its own.
TEST(FreshGradientBuffers, AReshapeHandsItsGradientOnOnlyWhenNothingElseHoldsIt) {
  const std::vector<double> xv = {1, -2, 3, 0.5, 2, -1}, cv = {1, 2, 3, 4, 5, 6};
  Tensor x = leaf(xv, {2, 3});
  const Tensor a = x * 2.0;  // interior: its gradient may take the reshape's buffer
  const Tensor r = reshape(a, {6});
  // L = <r, c> + sum(a * a): dL/dr = c, which grad() returns; a gets a second term, 2 a, before or
  // after it (both orders of the sum, since the walk's order follows the graph).
  const Tensor inner = sum(r * Tensor::from(cv, {6}, DType::f64));
  std::vector<double> expected(6);
  for (std::size_t k = 0; k < 6; ++k) expected[k] = 2 * (cv[k] + 2 * (2 * xv[k]));
  for (const Tensor& L : {inner + sum(a * a), sum(a * a) + inner}) {
    const std::vector<Tensor> g = grad({L}, {r, x}, {.retain_graph = true});
    EXPECT_EQ(g[0].to_vector(), cv);  // not changed by the term a got later
    expect_all_near(g[1].to_vector(), expected);
  }
  // Through an interior reshape whose gradient the walk alone holds, then a second term into it.
  x.zero_grad();
  const Tensor flat = reshape(x * 1.0, {6});
  backward(sum(flat * flat) + sum(x * 3.0));  // dx = 2 x + 3
  for (std::size_t k = 0; k < 6; ++k) expected[k] = 2 * xv[k] + 3;
  expect_all_near(x.grad().to_vector(), expected);
  // A leaf straight under a reshape: its .grad is its own buffer, unchanged by a later backward's terms.
  Tensor w = leaf({1, 2, 3, 4}, {2, 2});
  backward(sum(reshape(w, {4}) * 2.0));
  const Tensor first = w.grad();
  Tensor kept = first.clone();
  backward(sum(reshape(w, {4}) * 2.0));
  EXPECT_EQ(kept.to_vector(), (std::vector<double>{2, 2, 2, 2}));
  EXPECT_EQ(w.grad().to_vector(), (std::vector<double>{4, 4, 4, 4}));
}

// Inside a WeightTransposeScope, linear over 8 to 63 rows multiplies by a cached W^T: the same
// numbers and gradients as without, and a new scope sees a weight changed since the last one.
TEST(WeightTransposeScope, SameResultsAndGradientsAndAFreshCopyPerScope) {
  Generator gen(11);
  Tensor w = rand_uniform({5, 7}, -1, 1, DType::f64, gen).requires_grad_();
  Tensor b = rand_uniform({5}, -1, 1, DType::f64, gen).requires_grad_();
  Tensor x = rand_uniform({16, 7}, -1, 1, DType::f64, gen).requires_grad_();
  auto run = [&](bool scoped) {
    w.zero_grad(), b.zero_grad(), x.zero_grad();
    std::optional<WeightTransposeScope> scope;
    if (scoped) scope.emplace();
    Tensor y = linear(x, w, b);
    Tensor y2 = linear(tanh(x), w, b);  // a second use: served by the same copy
    backward(sum(y * y) + sum(y2));
    return std::vector<std::vector<double>>{y.to_vector(), y2.to_vector(), w.grad().to_vector(),
                                            b.grad().to_vector(), x.grad().to_vector()};
  };
  const auto plain = run(false), scoped = run(true);
  for (std::size_t k = 0; k < plain.size(); ++k) expect_all_near(scoped[k], plain[k]);
  {
    WeightTransposeScope scope;
    (void)linear(x, w);
  }
  w.data<double>()[0] += 1.0;  // as an optimizer step would
  WeightTransposeScope scope;
  NoGradGuard no_grad;
  const auto changed = linear(x, w).to_vector();
  const auto xs = x.to_vector(), ws = w.to_vector();
  for (std::size_t r = 0; r < 16; ++r) {
    double want = 0;
    for (std::size_t j = 0; j < 7; ++j) want += xs[r * 7 + j] * ws[j];
    EXPECT_NEAR(changed[r * 5], want, 1e-12) << "row " << r;
  }
}

TEST(GraphExport, DotNamesOpsLeavesAndShapes) {
  Tensor w = leaf({1, 2, 3, 4, 5, 6}, {3, 2});
  w.set_name("weight");
  Tensor x = Tensor::from({1, 2}, {1, 2}, DType::f64);
  Tensor y = tanh(matmul(x, w, false, true));
  const std::string dot = to_dot(y);
  EXPECT_NE(dot.find("digraph"), std::string::npos);
  EXPECT_NE(dot.find("tanh\\n[1,3]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("matmul\\n[1,3]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("weight\\n[3,2]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("->"), std::string::npos);
}

TEST(Threads, TwoThreadsBuildAndDifferentiateTheirOwnGraphs) {
  auto work = [](double v, double* out) {
    for (int i = 0; i < 200; ++i) {
      Tensor x = leaf({v, v}, {2});
      Tensor y = tanh(x * x) * 2.0;
      backward(y, Tensor::ones({2}, DType::f64));
      *out = x.grad().to_vector()[0];
    }
  };
  double a = 0, b = 0;
  std::thread t1(work, 0.5, &a), t2(work, -0.25, &b);
  t1.join();
  t2.join();
  auto expect = [](double v) { const double t = std::tanh(v * v); return 2 * (1 - t * t) * 2 * v; };
  EXPECT_NEAR(a, expect(0.5), 1e-12);
  EXPECT_NEAR(b, expect(-0.25), 1e-12);
}

TEST(BufferPool, RepeatedTrainingStepsAllocateNoNewTensorData) {
  manual_seed(1);
  Tensor w = randn({16, 8}).requires_grad_();
  Tensor b = Tensor::zeros({16}).requires_grad_();
  Tensor x = randn({4, 8});
  auto step = [&] {
    Tensor h = tanh(linear(x, w, b));
    Tensor loss = sigmoid(h * h + h);
    backward(loss, Tensor::ones(loss.shape()));
    w.zero_grad();
    b.zero_grad();
  };
  step();
  const auto before = BufferPool::for_this_thread()->stats();
  for (int i = 0; i < 5; ++i) step();
  const auto after = BufferPool::for_this_thread()->stats();
  EXPECT_EQ(after.fresh_allocations, before.fresh_allocations);
  EXPECT_GT(after.reuses, before.reuses);
}
