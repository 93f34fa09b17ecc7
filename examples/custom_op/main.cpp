// Writing a new differentiable op outside the library, and checking its gradient with one call.
//
// An op is a function that computes its result now and records how to differentiate it: the
// forward and the backward sit side by side, and nothing in the library changes. A backward that
// computes its gradients with library ops and hands them over with `add` can itself be
// differentiated (second order, checked by gradgradcheck), for free.
#include <cmath>
#include <cstdio>

#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;

// softplus(x) = log(1 + e^x), computed stably as max(x, 0) + log1p(e^-|x|).  d/dx = sigmoid(x).
Tensor softplus(const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  dispatch_float(x.dtype(), "softplus", [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (std::size_t i = 0; i < x.numel(); ++i)
      out[i] = std::max(in[i], T(0)) + std::log1p(std::exp(-std::abs(in[i])));
  });
  return record("softplus", {x}, y, [x](const Tensor& grad_y, GradInputs& grads) {
    grads.add(0, grad_y * sigmoid(x));  // library ops: recorded only when create_graph asks for it
  });
}

// swish(x) = x * sigmoid(beta x), with a learnable beta of shape [1] (broadcast over x).
// d/dx = s + beta x s (1 - s),  d/dbeta = x^2 s (1 - s),  where s = sigmoid(beta x).
Tensor swish(const Tensor& x, const Tensor& beta) {
  const Tensor s = sigmoid(x.detach() * beta.detach());  // outside the graph: we give the gradient ourselves
  const Tensor y = x.detach() * s;
  return record("swish", {x, beta}, y, [x, beta, s](const Tensor& grad_y, GradInputs& grads) {
    // The saved s is a constant. When the gradient is to be differentiated again (create_graph), the
    // formula must see s as the function of x and beta that it is: the one extra line second order needs.
    const Tensor sig = grads.create_graph() ? sigmoid(x * beta) : s;
    const Tensor ds = sig * (1.0 - sig);
    if (grads.needs(0)) grads.add(0, grad_y * (sig + beta * x * ds));
    if (grads.needs(1)) grads.add(1, grad_y * x * x * ds);  // summed back to beta's shape [1]
  });
}

int main(int argc, char** argv) {
  if (argc > 1) return std::fprintf(stderr, "%s: takes no arguments (read its source)\n", argv[0]), 2;
  manual_seed(7);
  // Gradient checks run in float64 against central finite differences.
  Tensor x = randn({4, 5}, DType::f64).set_name("x").requires_grad_();
  Tensor beta = Tensor::from({1.3}, {1}, DType::f64).set_name("beta").requires_grad_();

  GradCheckResult a = gradcheck("softplus", [](const std::vector<Tensor>& in) { return softplus(in[0]); }, {x});
  GradCheckResult b = gradcheck("swish", [](const std::vector<Tensor>& in) { return swish(in[0], in[1]); }, {x, beta});
  std::printf("%s\n%s\n", a.report.c_str(), b.report.c_str());
  // Second order: the gradients, differentiated again, against finite differences of the gradients.
  GradCheckResult a2 = gradgradcheck("softplus", [](const std::vector<Tensor>& in) { return softplus(in[0]); }, {x});
  GradCheckResult b2 =
      gradgradcheck("swish", [](const std::vector<Tensor>& in) { return swish(in[0], in[1]); }, {x, beta});
  std::printf("%s\n%s\n", a2.report.c_str(), b2.report.c_str());

  // The new ops compose with the library's like any other op.
  Tensor loss = mean(softplus(swish(x, beta)));
  backward(loss);
  std::printf("loss = %.6f, dloss/dbeta = %.6f\n", loss.item(), beta.grad().item());
  std::printf("\nThe graph, as Graphviz DOT:\n%s", to_dot(loss).c_str());
  return a.ok && b.ok && a2.ok && b2.ok ? 0 : 1;
}
