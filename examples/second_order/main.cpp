// Derivatives of derivatives: a gradient penalty in a training step, and a Hessian-vector product.
//
// grad(outputs, inputs, {.create_graph = true}) returns gradients that are themselves results of
// recorded ops, so a loss may contain them and backward differentiates through them.
#include <cmath>
#include <cstdio>

#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;

// A small critic, x [N, 4] -> score [N, 1], in float64 so that finite differences can check it.
class Critic : public nn::Module {
 public:
  explicit Critic(Generator& gen)
      : hidden(register_module("hidden", std::make_shared<nn::Linear>(4, 16, gen, nn::LinearOptions{.dtype = DType::f64}))),
        out(register_module("out", std::make_shared<nn::Linear>(16, 1, gen, nn::LinearOptions{.dtype = DType::f64}))) {}
  Tensor forward(const Tensor& x) const { return out->forward(tanh(hidden->forward(x))); }

  std::shared_ptr<nn::Linear> hidden, out;
};

// readme-begin: penalty
// WGAN-GP's critic loss: mean D(fake) - mean D(real) + lambda * mean((|grad_x D(x_hat)| - 1)^2),
// where x_hat lies between a real and a fake sample.
Tensor critic_loss(const Critic& critic, const Tensor& real, const Tensor& fake, const Tensor& mix) {
  Tensor x_hat = (real * mix + fake * (1.0 - mix)).detach().requires_grad_();
  Tensor score = critic.forward(x_hat);
  Tensor g = grad({score}, {x_hat}, {.grad_outputs = {Tensor::ones(score.shape(), DType::f64)},
                                     .create_graph = true})[0];  // [N, 4], differentiable
  Tensor norm = sqrt(sum(g * g, {1}) + 1e-12);
  Tensor penalty = mean((norm - 1.0) * (norm - 1.0));
  return mean(critic.forward(fake)) - mean(critic.forward(real)) + 10.0 * penalty;
}
// readme-end: penalty

int main(int argc, char** argv) {
  if (argc > 1) return std::fprintf(stderr, "%s: takes no arguments (read its source)\n", argv[0]), 2;
  Generator gen(11);
  Critic critic(gen);
  const Tensor real = randn({8, 4}, DType::f64, gen) + 1.0;
  const Tensor fake = randn({8, 4}, DType::f64, gen);
  const Tensor mix = rand_uniform({8, 1}, 0.0, 1.0, DType::f64, gen);
  bool ok = true;

  // 1. The penalty's gradient reaches the weights through the second derivative: check it against
  //    central differences of the loss for every element of the first layer's weight.
  critic.zero_grad();
  backward(critic_loss(critic, real, fake, mix));
  Tensor w = critic.hidden->weight;
  const Tensor analytic = w.grad().clone();
  double worst = 0;
  for (std::size_t k = 0; k < w.numel(); ++k) {
    double* p = w.data<double>() + k;
    const double orig = *p, eps = 1e-6;
    *p = orig + eps;
    const double plus = critic_loss(critic, real, fake, mix).item();
    *p = orig - eps;
    const double minus = critic_loss(critic, real, fake, mix).item();
    *p = orig;
    const double numeric = (plus - minus) / (2 * eps), a = analytic.data<double>()[k];
    worst = std::max(worst, std::abs(a - numeric) / (1e-6 + std::abs(numeric)));
  }
  std::printf("gradient penalty: d loss / d hidden.weight against finite differences, worst relative error %.2e\n",
              worst);
  ok = ok && worst < 1e-4;

  // 2. Training steps with the penalty: Adam over the critic's parameters.
  nn::Adam adam(critic.named_parameters(), {.lr = 1e-2});
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    Tensor loss = critic_loss(critic, real, fake, mix);
    backward(loss);
    adam.step();
    (step == 0 ? first : last) = loss.item();
  }
  std::printf("critic loss: %.4f at step 1, %.4f at step 60\n", first, last);
  ok = ok && last < first;

  // readme-begin: hvp
  // A Hessian-vector product H v of L(theta) = mean(D(real)^2): the gradient of <grad L, v>.
  const std::vector<Tensor> theta = critic.parameters();
  std::vector<Tensor> v;
  for (const Tensor& p : theta) v.push_back(randn(p.shape(), DType::f64, gen));
  auto loss_of = [&] { Tensor s = critic.forward(real); return mean(s * s); };
  std::vector<Tensor> g = grad({loss_of()}, theta, {.create_graph = true});
  Tensor g_dot_v = sum(g[0] * v[0]);
  for (std::size_t i = 1; i < g.size(); ++i) g_dot_v = g_dot_v + sum(g[i] * v[i]);
  const std::vector<Tensor> hv = grad({g_dot_v}, theta);
  // readme-end: hvp

  // Against finite differences of the gradient along v: (grad L(theta + e v) - grad L(theta - e v)) / 2e.
  auto gradient_at = [&](double e) {
    std::vector<Tensor> saved;
    for (std::size_t i = 0; i < theta.size(); ++i) {
      saved.push_back(theta[i].clone());
      Tensor t = theta[i];
      for (std::size_t k = 0; k < t.numel(); ++k) t.data<double>()[k] += e * v[i].data<double>()[k];
    }
    std::vector<Tensor> gr = grad({loss_of()}, theta);
    for (std::size_t i = 0; i < theta.size(); ++i) Tensor(theta[i]).copy_from_(saved[i]);
    return gr;
  };
  const auto plus = gradient_at(1e-5), minus = gradient_at(-1e-5);
  double hvp_worst = 0;
  for (std::size_t i = 0; i < theta.size(); ++i)
    for (std::size_t k = 0; k < theta[i].numel(); ++k) {
      const double numeric = (plus[i].data<double>()[k] - minus[i].data<double>()[k]) / 2e-5;
      hvp_worst = std::max(hvp_worst, std::abs(hv[i].data<double>()[k] - numeric) / (1e-6 + std::abs(numeric)));
    }
  std::printf("Hessian-vector product against finite differences of the gradient: worst relative error %.2e\n",
              hvp_worst);
  ok = ok && hvp_worst < 1e-4;
  std::printf("%s\n", ok ? "all checks passed" : "A CHECK FAILED");
  return ok ? 0 : 1;
}
