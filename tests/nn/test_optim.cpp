// Optimizers against hand-computed steps and the PyTorch 1.13 update formulas over several steps,
// gradient clipping, learning-rate schedules.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>

#include "seqgrad/graph/pool.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/schedule.hpp"
#include "seqgrad/ops/linalg.hpp"
#include "support/expect_error.hpp"

using namespace seqgrad;

namespace {

// A leaf parameter with the given values and gradient.
Tensor param(const std::vector<double>& values, DType dtype = DType::f64) {
  Tensor p = Tensor::from(values, {values.size()}, dtype);
  p.requires_grad_();
  return p;
}

void set_grad(Tensor& p, const std::vector<double>& g) { p.grad() = Tensor::from(g, p.shape(), p.dtype()); }

// PyTorch 1.13's Adam/AdamW on one element, written out from torch/optim/adam(w).py.
struct ReferenceAdam {
  double lr, beta1, beta2, eps, wd;
  bool decoupled;
  double m = 0, v = 0;
  int t = 0;
  double step(double p, double g) {
    ++t;
    if (decoupled) p *= 1 - lr * wd;
    else g += wd * p;
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    const double step_size = lr / (1 - std::pow(beta1, t));
    const double denom = std::sqrt(v) / std::sqrt(1 - std::pow(beta2, t)) + eps;
    return p - step_size * m / denom;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// SGD

TEST(SGD, PlainStepIsLrTimesGradient) {
  Tensor p = param({1.0, -2.0});
  nn::SGD opt({p}, {.lr = 0.1});
  set_grad(p, {0.5, -1.0});
  opt.step();
  EXPECT_DOUBLE_EQ(p.to_vector()[0], 0.95);
  EXPECT_DOUBLE_EQ(p.to_vector()[1], -1.9);
  EXPECT_EQ(opt.step_count(), 1);
}

TEST(SGD, MomentumOverThreeSteps) {
  // lr 0.1, momentum 0.9, gradient 0.5 each step; torch starts the buffer at the first gradient:
  // buf 0.5, 0.95, 1.355  ->  p 0.95, 0.855, 0.7195
  Tensor p = param({1.0});
  nn::SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
  const double want[] = {0.95, 0.855, 0.7195};
  const double buf[] = {0.5, 0.95, 1.355};
  for (int s = 0; s < 3; ++s) {
    set_grad(p, {0.5});
    opt.step();
    EXPECT_NEAR(p.item(), want[s], 1e-15) << "step " << s + 1;
    EXPECT_NEAR(opt.state_buffer(0, "momentum_buffer").item(), buf[s], 1e-15);
  }
}

TEST(SGD, NesterovOverTwoSteps) {
  // buf 0.5 then 0.95; update g + 0.9 buf = 0.95 then 1.355; p = 1 - 0.095 = 0.905, then 0.7695.
  Tensor p = param({1.0});
  nn::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  set_grad(p, {0.5});
  opt.step();
  EXPECT_NEAR(p.item(), 0.905, 1e-15);
  opt.step();
  EXPECT_NEAR(p.item(), 0.7695, 1e-15);
}

TEST(SGD, DampeningAppliesAfterTheFirstStep) {
  // torch: buf = g on step 1 (no dampening), then buf = 0.9 buf + 0.5 g.
  Tensor p = param({0.0});
  nn::SGD opt({p}, {.lr = 1.0, .momentum = 0.9, .dampening = 0.5});
  set_grad(p, {1.0});
  opt.step();
  EXPECT_DOUBLE_EQ(p.item(), -1.0);
  opt.step();
  EXPECT_DOUBLE_EQ(p.item(), -1.0 - (0.9 + 0.5));
}

TEST(SGD, WeightDecayAddsToTheGradient) {
  Tensor p = param({2.0});
  nn::SGD opt({p}, {.lr = 0.1, .weight_decay = 0.5});
  set_grad(p, {1.0});
  opt.step();  // g = 1 + 0.5 * 2 = 2
  EXPECT_DOUBLE_EQ(p.item(), 1.8);
  opt.step();  // g = 1 + 0.9 = 1.9
  EXPECT_DOUBLE_EQ(p.item(), 1.8 - 0.19);
}

TEST(SGD, Errors) {
  Tensor p = param({1.0});
  EXPECT_THROW(nn::SGD({p}, {.lr = -1.0}), std::invalid_argument);
  EXPECT_THROW(nn::SGD({p}, {.momentum = -0.1}), std::invalid_argument);
  EXPECT_THROW(nn::SGD({p}, {.momentum = std::numeric_limits<double>::infinity()}), std::invalid_argument);
  EXPECT_THROW(nn::SGD({p}, {.weight_decay = std::numeric_limits<double>::infinity()}), std::invalid_argument);
  EXPECT_THROW(nn::SGD({p}, {.nesterov = true}), std::invalid_argument);  // no momentum
  EXPECT_THROW(nn::SGD({p}, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}), std::invalid_argument);
  EXPECT_THROW(nn::SGD(std::vector<Tensor>{}), std::invalid_argument);
  EXPECT_THROW(nn::SGD({p, p}), std::invalid_argument);  // the same tensor twice would be updated twice
  EXPECT_THROW(nn::SGD({Tensor::from_indices({1}, {1})}), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Adam, AdamW

TEST(Adam, FirstStepIsLrTimesSignOfGradient) {
  // Bias correction makes m_hat = g and v_hat = g^2 on step 1: p -= lr * g / (|g| + eps).
  Tensor p = param({1.0, 1.0, 1.0});
  nn::Adam opt({p}, {.lr = 0.01});
  set_grad(p, {3.0, -0.5, 1e-3});
  opt.step();
  const auto v = p.to_vector();
  EXPECT_NEAR(v[0], 1.0 - 0.01 * 3.0 / (3.0 + 1e-8), 1e-15);
  EXPECT_NEAR(v[1], 1.0 + 0.01 * 0.5 / (0.5 + 1e-8), 1e-15);
  EXPECT_NEAR(v[2], 1.0 - 0.01 * 1e-3 / (1e-3 + 1e-8), 1e-15);
}

TEST(Adam, ThreeStepsMatchTheTorchFormulas) {
  const std::vector<double> p0{0.3, -1.2, 2.0};
  const std::vector<std::vector<double>> grads{{0.1, -0.4, 2.0}, {-0.3, -0.1, 1.5}, {0.2, 0.05, -0.7}};
  const nn::AdamOptions o{.lr = 0.05, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.1};
  Tensor p = param(p0);
  nn::Adam opt({p}, o);
  std::vector<ReferenceAdam> ref(3, ReferenceAdam{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, false});
  std::vector<double> want = p0;
  for (int s = 0; s < 3; ++s) {
    set_grad(p, grads[s]);
    opt.step();
    for (int i = 0; i < 3; ++i) want[i] = ref[i].step(want[i], grads[s][i]);
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(p.to_vector()[i], want[i], 1e-14) << "step " << s + 1 << " element " << i;
      EXPECT_NEAR(opt.state_buffer(0, "exp_avg").to_vector()[i], ref[i].m, 1e-15);
      EXPECT_NEAR(opt.state_buffer(0, "exp_avg_sq").to_vector()[i], ref[i].v, 1e-15);
    }
  }
  EXPECT_EQ(opt.state_buffer(0, "step").item(), 3.0);
}

TEST(AdamW, DecayIsDecoupledFromTheMoments) {
  // Step 1: p = p0 (1 - lr wd) - lr g / (|g| + eps); the moments see g alone.
  Tensor p = param({2.0});
  nn::AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.5});
  set_grad(p, {0.25});
  opt.step();
  EXPECT_NEAR(p.item(), 2.0 * (1 - 0.05) - 0.1 * 0.25 / (0.25 + 1e-8), 1e-15);
  EXPECT_NEAR(opt.state_buffer(0, "exp_avg").item(), 0.1 * 0.25, 1e-16);
}

TEST(AdamW, ThreeStepsMatchTheTorchFormulasInFloat32) {
  const std::vector<double> p0{0.3, -1.2, 2.0, 0.0};
  const std::vector<std::vector<double>> grads{{0.1, -0.4, 2.0, 1.0}, {-0.3, -0.1, 1.5, 1.0}, {0.2, 0.05, -0.7, 1.0}};
  const nn::AdamOptions o{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.98, .eps = 1e-8, .weight_decay = 0.01};
  Tensor p = param(p0, DType::f32);
  nn::AdamW opt({p}, o);
  std::vector<ReferenceAdam> ref(4, ReferenceAdam{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, true});
  std::vector<double> want = p0;
  for (int s = 0; s < 3; ++s) {
    set_grad(p, grads[s]);
    opt.step();
    for (int i = 0; i < 4; ++i) want[i] = ref[i].step(want[i], grads[s][i]);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(p.to_vector()[i], want[i], 2e-6) << "step " << s + 1 << " element " << i;
  }
}

TEST(AdamW, DefaultWeightDecayIsTorchs) {
  Tensor p = param({1.0});
  nn::AdamW opt({p});
  EXPECT_EQ(opt.options().weight_decay, 0.01);
  EXPECT_EQ(opt.options().lr, 1e-3);
}

TEST(Adam, Errors) {
  Tensor p = param({1.0});
  EXPECT_THROW(nn::Adam({p}, {.beta1 = 1.0}), std::invalid_argument);
  EXPECT_THROW(nn::Adam({p}, {.beta2 = -0.1}), std::invalid_argument);
  EXPECT_THROW(nn::Adam({p}, {.eps = -1.0}), std::invalid_argument);
  EXPECT_THROW(nn::AdamW({p}, {.weight_decay = -0.01}), std::invalid_argument);
  try {
    nn::Adam({p}, {.lr = std::nan("")});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("Adam"), std::string::npos) << e.what();
  }
}

TEST(Adam, RefusesToStepInsideAWeightTransposeScope) {
  // The scope's transposed copies of the weights would go stale: the step must wait for its end.
  Tensor p = param({1.0});
  p.grad() = Tensor::from({0.5}, {1}, DType::f64);
  nn::Adam opt({p}, {.lr = 0.1});
  {
    WeightTransposeScope scope;
    try {
      opt.step();
      FAIL() << "step() inside a WeightTransposeScope must throw";
    } catch (const std::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("WeightTransposeScope"), std::string::npos) << e.what();
    }
    EXPECT_EQ(p.item(), 1.0);  // untouched
  }
  opt.step();
  EXPECT_LT(p.item(), 1.0);
}

// ---------------------------------------------------------------------------------------------
// Behaviour shared by every optimizer

TEST(Optimizer, ParametersWithoutGradientAreSkipped) {
  Tensor a = param({1.0}), b = param({1.0});
  nn::Adam opt(nn::NamedParameters{{"a", a}, {"b", b}}, {.lr = 0.1});
  set_grad(a, {1.0});
  opt.step();
  EXPECT_NE(a.item(), 1.0);
  EXPECT_EQ(b.item(), 1.0);
  EXPECT_EQ(opt.state_buffer(0, "step").item(), 1.0);
  EXPECT_EQ(opt.state_buffer(1, "step").item(), 0.0);  // b's own count: bias correction starts at 1 later
  EXPECT_EQ(opt.state_buffer(1, "exp_avg").item(), 0.0);
  EXPECT_EQ(opt.step_count(), 1);
}

TEST(Optimizer, ZeroGradKeepsBuffers) {
  Tensor p = param({1.0, 2.0});
  nn::SGD opt({p}, {.lr = 0.1});
  set_grad(p, {3.0, 4.0});
  const void* buffer = p.grad().raw_data();
  opt.zero_grad();
  EXPECT_EQ(p.grad().to_vector(), (std::vector<double>{0.0, 0.0}));
  EXPECT_EQ(p.grad().raw_data(), buffer);
}

TEST(Optimizer, StateIsNamedAndLive) {
  Tensor w = param({1.0, 2.0}), b = param({0.5});
  nn::Adam opt(nn::NamedParameters{{"layer.weight", w}, {"layer.bias", b}});
  std::vector<std::string> names;
  for (auto& [n, _] : opt.state()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"step/layer.weight", "exp_avg/layer.weight", "exp_avg_sq/layer.weight",
                                             "step/layer.bias", "exp_avg/layer.bias", "exp_avg_sq/layer.bias"}));
  opt.state()[1].second.fill_(7.0);  // a handle: writing into it changes the optimizer
  EXPECT_EQ(opt.state_buffer(0, "exp_avg").to_vector(), (std::vector<double>{7.0, 7.0}));
  EXPECT_THROW(opt.state_buffer(0, "momentum_buffer"), std::invalid_argument);
  EXPECT_THROW(opt.state_buffer(2, "exp_avg"), std::out_of_range);
}

TEST(Optimizer, StepAllocatesNoTensor) {
  Tensor a = param(std::vector<double>(1000, 1.0), DType::f32), b = param({1.0, 2.0}, DType::f32);
  nn::SGD sgd(nn::NamedParameters{{"a", a}, {"b", b}}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  nn::AdamW adamw(nn::NamedParameters{{"a", a}, {"b", b}});
  set_grad(a, std::vector<double>(1000, 0.5));
  set_grad(b, {1.0, -1.0});
  const PoolStats before = BufferPool::for_this_thread()->stats();
  for (int s = 0; s < 3; ++s) {
    sgd.step();
    adamw.step();
  }
  const PoolStats after = BufferPool::for_this_thread()->stats();
  EXPECT_EQ(after.fresh_allocations, before.fresh_allocations);
  EXPECT_EQ(after.reuses, before.reuses);
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
}

// ---------------------------------------------------------------------------------------------
// An optimizer chosen by OptimizerOptions

namespace {

// The parameter after two steps of `opt` with the gradients 0.5 and -0.25.
double after_two_steps(nn::Optimizer& opt, Tensor& p) {
  set_grad(p, {0.5});
  opt.step();
  set_grad(p, {-0.25});
  opt.step();
  return p.item();
}

}  // namespace

TEST(OptimizerOptions, KindNamesRoundTripAndUnknownNamesAreRefused) {
  for (nn::OptimizerKind k : {nn::OptimizerKind::sgd, nn::OptimizerKind::adam, nn::OptimizerKind::adamw})
    EXPECT_EQ(nn::parse_optimizer_kind(nn::to_string(k)), k);
  EXPECT_EQ(nn::to_string(nn::OptimizerKind::adamw), "adamw");
  test_support::expect_error([] { nn::parse_optimizer_kind("Adam"); }, {"'Adam'", "sgd, adam, adamw"});
  test_support::expect_error([] { nn::parse_optimizer_kind("rmsprop"); }, {"'rmsprop'"});
}

TEST(OptimizerOptions, TextNamesTheKindAndTheSettingsItUsesExactly) {
  EXPECT_EQ(nn::to_string(nn::OptimizerOptions{.lr = 2e-3}), "adam lr=0.002 weight_decay=0 beta1=0.9 beta2=0.999 eps=1e-08");
  EXPECT_EQ(nn::to_string(nn::OptimizerOptions{.kind = nn::OptimizerKind::sgd, .lr = 0.1, .momentum = 0.9, .nesterov = true}),
            "sgd lr=0.1 weight_decay=0 momentum=0.9 nesterov=true");
  // Numbers that differ in the last bit give different texts (a resumed run compares them).
  const double lr = 0.1;
  EXPECT_NE(nn::to_string(nn::OptimizerOptions{.lr = lr}), nn::to_string(nn::OptimizerOptions{.lr = std::nextafter(lr, 1.0)}));
}

TEST(OptimizerOptions, MakeOptimizerBuildsEachKindWithItsSettings) {
  const auto built = [](const nn::OptimizerOptions& o) {
    Tensor p = param({1.0});
    const std::unique_ptr<nn::Optimizer> opt = nn::make_optimizer({{"p", p}}, o);
    return std::pair{std::string(opt->kind()), after_two_steps(*opt, p)};
  };
  const auto direct = [](auto make) {
    Tensor p = param({1.0});
    auto opt = make(p);
    return after_two_steps(opt, p);
  };
  const auto sgd = built({.kind = nn::OptimizerKind::sgd, .lr = 0.1, .weight_decay = 0.01, .momentum = 0.9, .nesterov = true});
  EXPECT_EQ(sgd.first, "SGD");
  EXPECT_EQ(sgd.second, direct([](Tensor& p) {
              return nn::SGD({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
            }));
  const auto adam = built({.kind = nn::OptimizerKind::adam, .lr = 0.01, .weight_decay = 0.1, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6});
  EXPECT_EQ(adam.first, "Adam");
  EXPECT_EQ(adam.second, direct([](Tensor& p) {
              return nn::Adam({p}, {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1});
            }));
  const auto adamw = built({.kind = nn::OptimizerKind::adamw, .lr = 0.01, .weight_decay = 0.1});
  EXPECT_EQ(adamw.first, "AdamW");
  EXPECT_EQ(adamw.second, direct([](Tensor& p) { return nn::AdamW({p}, {.lr = 0.01, .weight_decay = 0.1}); }));
  EXPECT_NE(adam.second, adamw.second);
  EXPECT_EQ(nn::default_weight_decay(nn::OptimizerKind::adamw), nn::AdamW({param({1.0})}).options().weight_decay);
  EXPECT_EQ(nn::default_weight_decay(nn::OptimizerKind::adam), 0.0);
  EXPECT_EQ(nn::default_weight_decay(nn::OptimizerKind::sgd), 0.0);
}

TEST(OptimizerOptions, SettingsAKindDoesNotUseAndBadValuesAreRefused) {
  Tensor p = param({1.0});
  const nn::NamedParameters params{{"p", p}};
  using K = nn::OptimizerKind;
  test_support::expect_error([&] { nn::make_optimizer(params, {.kind = K::adam, .momentum = 0.9}); }, {"adam", "momentum 0.9"});
  test_support::expect_error([&] { nn::make_optimizer(params, {.kind = K::adamw, .nesterov = true}); }, {"adamw", "nesterov"});
  test_support::expect_error([&] { nn::make_optimizer(params, {.kind = K::sgd, .beta2 = 0.98}); }, {"sgd", "beta2 0.98"});
  test_support::expect_error([&] { nn::make_optimizer(params, {.kind = K::sgd, .eps = 1e-6}); }, {"sgd", "eps"});
  test_support::expect_error([&] { nn::make_optimizer(params, {.kind = K::sgd, .nesterov = true}); }, {"SGD", "Nesterov"});
  test_support::expect_error([&] { nn::make_optimizer(params, {.kind = K::sgd, .lr = -1.0}); }, {"SGD", "learning rate"});
  test_support::expect_error([&] { nn::make_optimizer(params, {.kind = K::adamw, .weight_decay = -0.1}); }, {"AdamW", "weight_decay"});
  test_support::expect_error([&] { nn::make_optimizer(params, {.kind = K::adam, .beta1 = 1.0}); }, {"Adam", "beta1"});
}

// ---------------------------------------------------------------------------------------------
// clip_grad_norm

TEST(ClipGradNorm, ScalesWhenAboveMaxNorm) {
  Tensor a = param({0, 0}), b = param({0});
  set_grad(a, {3.0, 0.0});
  set_grad(b, {4.0});
  const double norm = nn::clip_grad_norm({a, b}, 1.0);
  EXPECT_DOUBLE_EQ(norm, 5.0);
  const double coef = 1.0 / (5.0 + 1e-6);
  EXPECT_DOUBLE_EQ(a.grad().to_vector()[0], 3.0 * coef);
  EXPECT_DOUBLE_EQ(b.grad().item(), 4.0 * coef);
}

TEST(ClipGradNorm, LeavesSmallGradientsAlone) {
  Tensor a = param({0, 0}, DType::f32), no_grad = param({0});
  set_grad(a, {0.3, -0.4});
  const auto before = a.grad().to_vector();
  EXPECT_NEAR(nn::clip_grad_norm(nn::NamedParameters{{"a", a}, {"n", no_grad}}, 1.0), 0.5, 1e-7);
  EXPECT_EQ(a.grad().to_vector(), before);
  EXPECT_FALSE(no_grad.grad().defined());
}

TEST(ClipGradNorm, BadMaxNormThrows) {
  Tensor a = param({0});
  set_grad(a, {1.0});
  EXPECT_THROW(nn::clip_grad_norm({a}, -1.0), std::invalid_argument);
  EXPECT_THROW(nn::clip_grad_norm({a}, std::nan("")), std::invalid_argument);
  EXPECT_EQ(a.grad().item(), 1.0);
}

TEST(ClipGradNorm, NonFiniteNorm) {
  Tensor a = param({0, 0});
  set_grad(a, {std::numeric_limits<double>::infinity(), 1.0});
  try {
    nn::clip_grad_norm({a}, 1.0, {.error_if_nonfinite = true});
    FAIL() << "no error for an infinite norm";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("inf"), std::string::npos) << e.what();
  }
  EXPECT_EQ(a.grad().to_vector()[1], 1.0);  // untouched
  // As torch by default: the norm is returned, the coefficient max_norm / inf = 0 is applied.
  EXPECT_TRUE(std::isinf(nn::clip_grad_norm({a}, 1.0)));
  EXPECT_EQ(a.grad().to_vector()[1], 0.0);
  set_grad(a, {std::nan(""), 1.0});
  EXPECT_TRUE(std::isnan(nn::clip_grad_norm({a}, 1.0)));
  EXPECT_TRUE(std::isnan(a.grad().to_vector()[1]));
}

// ---------------------------------------------------------------------------------------------
// Schedules

TEST(Schedule, Constant) {
  nn::ConstantLr s(0.3);
  EXPECT_EQ(s.lr_at(0), 0.3);
  EXPECT_EQ(s.lr_at(12345), 0.3);
  EXPECT_THROW(nn::ConstantLr(-1.0), std::invalid_argument);
}

TEST(Schedule, WarmupInverseSqrt) {
  nn::WarmupInverseSqrt s(1e-3, 4);
  EXPECT_EQ(s.lr_at(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.25e-3);
  EXPECT_DOUBLE_EQ(s.lr_at(2), 0.5e-3);
  EXPECT_DOUBLE_EQ(s.lr_at(4), 1e-3);   // the peak
  EXPECT_DOUBLE_EQ(s.lr_at(16), 0.5e-3);  // sqrt(4 / 16)
  EXPECT_DOUBLE_EQ(s.lr_at(64), 0.25e-3);
  EXPECT_THROW(nn::WarmupInverseSqrt(1e-3, 0), std::invalid_argument);
  EXPECT_THROW(s.lr_at(-1), std::invalid_argument);
}

TEST(Schedule, Cosine) {
  nn::CosineLr s(1.0, 10, 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1.0);
  EXPECT_NEAR(s.lr_at(5), 0.55, 1e-15);  // halfway: cos = 0
  EXPECT_NEAR(s.lr_at(10), 0.1, 1e-15);
  EXPECT_NEAR(s.lr_at(50), 0.1, 1e-15);
  EXPECT_NEAR(s.lr_at(1), 0.1 + 0.9 * 0.5 * (1 + std::cos(std::numbers::pi / 10)), 1e-15);

  nn::CosineLr warm(2.0, 12, 0.0, 2);
  EXPECT_DOUBLE_EQ(warm.lr_at(1), 1.0);
  EXPECT_DOUBLE_EQ(warm.lr_at(2), 2.0);
  EXPECT_NEAR(warm.lr_at(7), 1.0, 1e-15);
  EXPECT_NEAR(warm.lr_at(12), 0.0, 1e-15);

  EXPECT_THROW(nn::CosineLr(1.0, 10, 2.0), std::invalid_argument);     // min above base
  EXPECT_THROW(nn::CosineLr(1.0, 10, 0.0, 10), std::invalid_argument);  // no room after warm-up
}

TEST(Schedule, LinearCooldownFallsToZeroOverTheLastSteps) {
  const nn::LinearCooldown s(std::make_unique<nn::WarmupInverseSqrt>(1.0, 4), 20, 4);
  EXPECT_DOUBLE_EQ(s.lr_at(2), 0.5);                     // the inner warm-up
  EXPECT_DOUBLE_EQ(s.lr_at(16), 0.5);                    // the inner decay, up to total - cooldown
  EXPECT_DOUBLE_EQ(s.lr_at(17), std::sqrt(4.0 / 17) * 3 / 4);
  EXPECT_DOUBLE_EQ(s.lr_at(19), std::sqrt(4.0 / 19) / 4);
  EXPECT_EQ(s.lr_at(20), 0.0);
  EXPECT_EQ(s.lr_at(25), 0.0);
  EXPECT_THROW(nn::LinearCooldown(std::make_unique<nn::ConstantLr>(1.0), 10, 0), std::invalid_argument);
  EXPECT_THROW(nn::LinearCooldown(std::make_unique<nn::ConstantLr>(1.0), 10, 11), std::invalid_argument);
  EXPECT_THROW(nn::LinearCooldown(nullptr, 10, 2), std::invalid_argument);
}

TEST(Schedule, ApplySetsTheRateOfTheNextUpdate) {
  Tensor p = param({0.0});
  nn::SGD opt({p}, {.lr = 123.0});
  const nn::WarmupInverseSqrt s(1.0, 4);
  std::vector<double> lrs;
  for (int step = 0; step < 3; ++step) {
    s.apply(opt);
    lrs.push_back(opt.lr());
    set_grad(p, {1.0});
    opt.step();
  }
  EXPECT_EQ(lrs, (std::vector<double>{0.25, 0.5, 0.75}));
  EXPECT_DOUBLE_EQ(p.item(), -1.5);  // each step used its scheduled rate
}
