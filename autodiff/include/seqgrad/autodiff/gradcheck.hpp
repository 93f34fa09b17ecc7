#pragma once
// Gradient checking against central finite differences in float64, as torch.autograd.gradcheck.
#include <functional>
#include <string>
#include <vector>

#include "seqgrad/graph/node.hpp"

namespace seqgrad {

struct GradCheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // pass when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
  // Fast mode checks one random projection v^T J u per input instead of the whole Jacobian:
  // one backward and two evaluations per input, for large inputs.
  bool fast = false;
  std::uint64_t seed = 0;  // for the random projections
};

struct GradCheckResult {
  bool ok = true;
  std::string function;     // the name given to gradcheck
  std::size_t input = 0;    // the failing input (its position), when !ok
  std::string input_name;   // its Tensor::name(), or "input <i>"
  std::string element;      // the worst element's index, e.g. "[1,2]" (fast mode: "projection")
  std::string output_element;
  double analytic = 0.0;
  double numeric = 0.0;
  std::string report;       // one line: what was checked and, on failure, the worst element
};

using TensorFunction = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks d f(inputs) / d input for every input that requires grad. Inputs must be float64. The
// result of f may have any shape: each of its elements is differentiated (fast mode: a random
// combination of them).
GradCheckResult gradcheck(const std::string& name, const TensorFunction& f, const std::vector<Tensor>& inputs,
                          const GradCheckOptions& options = {});

// Checks second derivatives, as torch.autograd.gradgradcheck: the first-order gradients
// g_i = grad(f(inputs), input_i, grad_outputs = v, create_graph) for a random v are themselves
// differentiated (by a second backward) and compared with central differences of g_i, with respect
// to every input that requires grad and to v (reported as "grad_output"). Full mode: every element
// of every g_i; fast mode: one random projection. The report names the worst element as gradcheck's
// does, e.g. "x element [1] of d/d w [0,2]".
GradCheckResult gradgradcheck(const std::string& name, const TensorFunction& f, const std::vector<Tensor>& inputs,
                              const GradCheckOptions& options = {});

}  // namespace seqgrad
