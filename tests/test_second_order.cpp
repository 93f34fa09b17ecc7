// Second order: grad() with create_graph, backward(create_graph), gradients of gradients to any
// order, and the rules they keep (no .grad touched by grad(), unused inputs, clear refusals).
#include <gtest/gtest.h>

#include <cmath>

#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;

namespace {
Tensor variable(std::vector<double> v, Shape s) { return Tensor::from(v, s, DType::f64).requires_grad_(); }
}  // namespace

// d/dx tanh = 1 - t^2, d2 = -2 t (1 - t^2), d3 = (6 t^2 - 2)(1 - t^2): each order by differentiating
// the previous one's recorded graph.
TEST(SecondOrder, ThirdDerivativeOfTanhMatchesTheClosedForm) {
  const std::vector<double> xs = {-1.3, -0.2, 0.0, 0.7, 2.1};
  Tensor x = variable(xs, {5});
  Tensor y = tanh(x);
  Tensor d1 = grad({y}, {x}, {.grad_outputs = {Tensor::ones({5}, DType::f64)}, .create_graph = true})[0];
  Tensor d2 = grad({d1}, {x}, {.grad_outputs = {Tensor::ones({5}, DType::f64)}, .create_graph = true})[0];
  Tensor d3 = grad({d2}, {x}, {.grad_outputs = {Tensor::ones({5}, DType::f64)}})[0];
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double t = std::tanh(xs[i]), s = 1 - t * t;
    EXPECT_NEAR(d1.to_vector()[i], s, 1e-12);
    EXPECT_NEAR(d2.to_vector()[i], -2 * t * s, 1e-12);
    EXPECT_NEAR(d3.to_vector()[i], (6 * t * t - 2) * s, 1e-12);
  }
  EXPECT_FALSE(d3.requires_grad());  // no create_graph on the last one
  EXPECT_FALSE(x.grad().defined());  // grad() leaves .grad alone
}

TEST(SecondOrder, BackwardWithCreateGraphLeavesADifferentiableGrad) {
  Tensor x = variable({0.5, -1.5}, {2});
  Tensor y = x * x * x;  // dy/dx = 3x^2, d2 = 6x
  backward(y, Tensor::ones({2}, DType::f64), {.create_graph = true});
  ASSERT_TRUE(x.grad().requires_grad());
  Tensor g = x.grad();
  x.zero_grad();  // replaces the recorded gradient rather than writing into it
  EXPECT_EQ(g.to_vector(), (std::vector<double>{0.75, 6.75}));
  backward(g, Tensor::ones({2}, DType::f64));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{3.0, -9.0}));
}

TEST(SecondOrder, GradOfAnInteriorTensorAndUnusedInputs) {
  Tensor x = variable({1.0, 2.0}, {2});
  Tensor w = variable({3.0}, {1});
  Tensor h = x * 2.0;
  Tensor y = h * h;
  auto g = grad({y}, {h, x}, {.grad_outputs = {Tensor::ones({2}, DType::f64)}, .retain_graph = true});
  EXPECT_EQ(g[0].to_vector(), (std::vector<double>{4.0, 8.0}));   // 2h
  EXPECT_EQ(g[1].to_vector(), (std::vector<double>{8.0, 16.0}));  // 2h * 2, through h
  EXPECT_THROW(grad({y}, {w}, {.grad_outputs = {Tensor::ones({2}, DType::f64)}, .retain_graph = true}),
               std::invalid_argument);
  auto u = grad({y}, {w}, {.grad_outputs = {Tensor::ones({2}, DType::f64)}, .allow_unused = true});
  EXPECT_FALSE(u[0].defined());
}

TEST(SecondOrder, GradgradcheckPassesAndCatchesAWrongSecondDerivative) {
  Generator gen(3);
  Tensor x = (randn({3}, DType::f64, gen) * 0.5).detach().requires_grad_();
  for (bool fast : {false, true}) {
    auto ok = gradgradcheck("tanh*sigmoid", [](const std::vector<Tensor>& in) { return tanh(in[0]) * sigmoid(in[0]); },
                            {x}, {.fast = fast});
    EXPECT_TRUE(ok.ok) << ok.report;
  }
  // A backward whose raw path is right but whose recorded formula is off by 1%.
  auto bad = [](const std::vector<Tensor>& in) {
    const Tensor& a = in[0];
    Tensor y = (a.detach() * a.detach() * a.detach()).detach();
    return record("cube", {a}, y, [a](const Tensor& gy, GradInputs& g) {
      g.add(0, gy * a * a * (g.create_graph() ? 3.03 : 3.0));
    });
  };
  for (bool fast : {false, true}) {
    auto r = gradgradcheck("cube", bad, {x}, {.fast = fast});
    EXPECT_FALSE(r.ok) << r.report;
    EXPECT_NE(r.report.find("FAILED"), std::string::npos);
  }
}

TEST(SecondOrder, AnOpWithOnlyARawBackwardRefusesNamingItself) {
  Tensor x = variable({1.0, 2.0}, {2});
  Tensor y = record("raw_square", {x}, (x.detach() * x.detach()).detach(), [x](const Tensor& gy, GradInputs& g) {
    bool fresh;
    Tensor& gx = g.buffer_to_write(0, fresh);
    (void)gx, (void)gy, (void)fresh;
  });
  try {
    grad({y}, {x}, {.grad_outputs = {Tensor::ones({2}, DType::f64)}, .create_graph = true});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("raw_square"), std::string::npos) << e.what();
  }
}
