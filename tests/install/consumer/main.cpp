// Uses an installed seqgrad: a linear layer, an activation and a reduction, then backward; checks
// the gradients against their closed forms. Exits non-zero when one differs.
#include <cmath>
#include <cstdio>

#include "seqgrad/nn/linear.hpp"
#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;

int main() {
  Generator gen(3);
  nn::Linear layer(3, 2, gen, {.bias = true, .dtype = DType::f64});
  const Tensor x = Tensor::from({0.5, -1.0, 2.0}, {1, 3}, DType::f64).requires_grad_();

  // loss = sum_i tanh(y_i), y = x W^T + b
  const Tensor y = layer(x);
  backward(sum(tanh(y)));

  // dloss/dy_i = 1 - tanh(y_i)^2;  dloss/db_i = dloss/dy_i;  dloss/dW_ij = dloss/dy_i x_j;
  // dloss/dx_j = sum_i dloss/dy_i W_ij.
  const auto yv = y.to_vector(), xv = x.to_vector(), w = layer.weight.to_vector();
  const auto gw = layer.weight.grad().to_vector(), gb = layer.bias.grad().to_vector(), gx = x.grad().to_vector();
  double worst = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    const double dy = 1 - std::tanh(yv[i]) * std::tanh(yv[i]);
    worst = std::max(worst, std::abs(gb[i] - dy));
    for (std::size_t j = 0; j < 3; ++j) worst = std::max(worst, std::abs(gw[i * 3 + j] - dy * xv[j]));
  }
  for (std::size_t j = 0; j < 3; ++j) {
    double want = 0;
    for (std::size_t i = 0; i < 2; ++i) want += (1 - std::tanh(yv[i]) * std::tanh(yv[i])) * w[i * 3 + j];
    worst = std::max(worst, std::abs(gx[j] - want));
  }
  std::printf("dloss/dx = [%.6f, %.6f, %.6f]\n", gx[0], gx[1], gx[2]);
  if (worst > 1e-12) {
    std::printf("consumer: gradients differ from their closed forms by %g\n", worst);
    return 1;
  }
  std::printf("consumer: gradients match (largest difference %g)\n", worst);
  return 0;
}
