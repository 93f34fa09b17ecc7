// Second order: grad() with create_graph, backward(create_graph), gradients of gradients to any
// order, and the rules they keep (no .grad touched by grad(), unused inputs, clear refusals), also
// with grad sinks, NoGradGuard and anomaly mode.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

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

// ---- create_graph with the engine's other settings ----

// Data-parallel shards collect gradients in sinks: under create_graph a sink gets the recorded
// gradient (a new tensor: the one it held may be saved by a graph, so it is summed out of place),
// and .grad stays untouched.
TEST(SecondOrder, GradSinksReceiveDifferentiableGradientsAndLeaveGradAlone) {
  Tensor x = variable({0.5, -1.5}, {2});
  const Tensor ones = Tensor::ones({2}, DType::f64);
  Tensor sink = Tensor::from({1.0, 1.0}, {2}, DType::f64);
  const Tensor held = sink;  // what the sink held before: must not be written into
  const GradSinks sinks{{x.impl(), &sink}};
  backward(x * x * x, ones, {.grad_sinks = &sinks, .create_graph = true});  // d/dx = 3x^2
  EXPECT_FALSE(x.grad().defined());
  ASSERT_TRUE(sink.requires_grad());
  EXPECT_EQ(sink.to_vector(), (std::vector<double>{1.75, 7.75}));
  EXPECT_EQ(held.to_vector(), (std::vector<double>{1.0, 1.0}));
  EXPECT_EQ(grad({sink}, {x}, {.grad_outputs = {ones}})[0].to_vector(), (std::vector<double>{3.0, -9.0}));  // 6x

  // A plain backward into a sink that holds a recorded gradient replaces it too, and adds without history.
  const Tensor recorded = sink;
  backward(x * x, ones, {.grad_sinks = &sinks});  // d/dx = 2x
  EXPECT_FALSE(sink.requires_grad());
  EXPECT_EQ(sink.to_vector(), (std::vector<double>{2.75, 4.75}));
  EXPECT_EQ(recorded.to_vector(), (std::vector<double>{1.75, 7.75}));
  EXPECT_FALSE(x.grad().defined());
}

// As PyTorch: NoGradGuard stops recording, also of ops on a recorded gradient; a create_graph walk
// records whatever the caller's grad mode (it sets the mode for its own duration), and a plain walk
// records nothing even with grad mode on. The caller's mode is back afterwards.
TEST(SecondOrder, NoGradGuardAndTheWalksGradMode) {
  Tensor x = variable({0.5, -1.5}, {2});
  const Tensor ones = Tensor::ones({2}, DType::f64);
  const Tensor g = grad({x * x * x}, {x}, {.grad_outputs = {ones}, .create_graph = true})[0];
  ASSERT_TRUE(g.requires_grad());
  {
    NoGradGuard no_grad;
    const Tensor h = g * 2.0 + x;
    EXPECT_FALSE(h.requires_grad());
    EXPECT_EQ(h.grad_fn(), nullptr);
  }
  const Tensor y = tanh(x) * x;
  {
    NoGradGuard no_grad;
    const Tensor recorded = grad({y}, {x}, {.grad_outputs = {ones}, .retain_graph = true, .create_graph = true})[0];
    EXPECT_TRUE(recorded.requires_grad());
    EXPECT_FALSE(is_grad_enabled());
    backward(y, ones, {.create_graph = true});
    EXPECT_TRUE(x.grad().requires_grad());
    EXPECT_FALSE(is_grad_enabled());
    // The recorded gradient differentiates again: d2/dx2 [x tanh x] = 2 (1 - t^2) - 2 x t (1 - t^2).
    const Tensor second = grad({recorded}, {x}, {.grad_outputs = {ones}})[0];
    for (std::size_t i = 0; i < 2; ++i) {
      const double xi = x.to_vector()[i], t = std::tanh(xi), s = 1 - t * t;
      EXPECT_NEAR(second.to_vector()[i], 2 * s - 2 * xi * t * s, 1e-12);
    }
  }
  EXPECT_TRUE(is_grad_enabled());
  const Tensor plain = grad({tanh(x)}, {x}, {.grad_outputs = {ones}})[0];
  EXPECT_FALSE(plain.requires_grad());
  EXPECT_TRUE(is_grad_enabled());
  // x.grad's graph holds x (as torch's does after backward(create_graph=True)): a cycle that
  // zero_grad() breaks, replacing the recorded gradient (LeakSanitizer checks that it does).
  x.zero_grad();
}

namespace {
// The message of the std::runtime_error that f throws ("" when it throws none).
std::string runtime_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

// Anomaly mode watches the create_graph walk too: the first NaN or Inf is an error naming the op
// whose gradient produced it, in the recording walk and in the walk through the recorded gradient.
TEST(SecondOrder, AnomalyModeNamesTheOpInCreateGraphWalks) {
  const Tensor ones = Tensor::ones({2}, DType::f64);
  // d/dx sqrt(x) = 1 / (2 sqrt x): infinite at 0, found while the walk records it.
  Tensor x = variable({0.0, 4.0}, {2});
  const Tensor root = sqrt(x);
  std::string message = runtime_error_of([&] {
    AnomalyModeGuard anomaly;
    grad({root}, {x}, {.grad_outputs = {ones}, .create_graph = true});
  });
  EXPECT_NE(message.find("anomaly"), std::string::npos) << message;
  EXPECT_NE(message.find("in the backward of 'sqrt' (create_graph)"), std::string::npos) << message;

  // A gradient penalty written as sqrt(g^2) (a norm without an epsilon): g = 2x is 0 at x = 0, so the
  // penalty is finite but its derivative through g is not; the walk through the recorded g says so.
  Tensor z = variable({0.0, 1.0}, {2});
  const Tensor g = grad({z * z}, {z}, {.grad_outputs = {ones}, .create_graph = true})[0];
  const Tensor penalty = sqrt(g * g);
  EXPECT_EQ(penalty.to_vector(), (std::vector<double>{0.0, 2.0}));
  message = runtime_error_of([&] {
    AnomalyModeGuard anomaly;
    backward(penalty, ones);
  });
  EXPECT_NE(message.find("anomaly"), std::string::npos) << message;
  EXPECT_NE(message.find("backward of sqrt"), std::string::npos) << message;
}

// grad() of several outputs where one lies below another (an LSTM step's c under its h): the
// gradient that reaches the lower output through the upper one counts, whatever order the outputs
// are listed in, with and without create_graph; and the caller's grad_outputs are left as they were.
TEST(SecondOrder, GradOfOutputsOneBelowAnotherInEitherOrder) {
  const Tensor u_h = Tensor::from({0.5, 2.0}, {2}, DType::f64), u_c = Tensor::from({-1.0, 0.25}, {2}, DType::f64);
  const std::vector<double> xs = {0.3, -0.7};
  for (bool create_graph : {false, true})
    for (bool c_first : {false, true}) {
      SCOPED_TRACE(std::string(create_graph ? "create_graph" : "plain") + (c_first ? ", c listed first" : ", h listed first"));
      Tensor x = variable(xs, {2});
      const Tensor c = x * x * x;
      const Tensor h = tanh(c) * x;
      const std::vector<Tensor> outputs = c_first ? std::vector<Tensor>{c, h} : std::vector<Tensor>{h, c};
      const std::vector<Tensor> upstream = c_first ? std::vector<Tensor>{u_c, u_h} : std::vector<Tensor>{u_h, u_c};
      const Tensor g = grad(outputs, {x}, {.grad_outputs = upstream, .create_graph = create_graph})[0];
      for (std::size_t i = 0; i < 2; ++i) {
        // d/dx [u_h tanh(x^3) x + u_c x^3]
        const double xi = xs[i], t = std::tanh(xi * xi * xi);
        const double want = u_h.to_vector()[i] * ((1 - t * t) * 3 * xi * xi * xi + t) + u_c.to_vector()[i] * 3 * xi * xi;
        EXPECT_NEAR(g.to_vector()[i], want, 1e-12) << "element " << i;
      }
      EXPECT_EQ(g.requires_grad(), create_graph);
      EXPECT_EQ(u_h.to_vector(), (std::vector<double>{0.5, 2.0}));
      EXPECT_EQ(u_c.to_vector(), (std::vector<double>{-1.0, 0.25}));
    }
}
