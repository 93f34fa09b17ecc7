#pragma once
// The float64 inputs and the gradient-check expectations that the op and layer tests share.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "seqgrad/seqgrad.hpp"

namespace seqgrad::test_support {

inline constexpr DType f64 = DType::f64;

// Values of the given shape, float64.
inline Tensor t64(const std::vector<double>& values, const Shape& shape) { return Tensor::from(values, shape, f64); }

// A float64 leaf of uniform values in [-1, 1) that requires its gradient: a gradient check's input.
inline Tensor leaf(const Shape& shape, Generator& gen) { return rand_uniform(shape, -1.0, 1.0, f64, gen).requires_grad_(); }

// The tests' gradient checks, the op catalogue's (tests/op_cases/op_cases.hpp) and the layers':
// a hundredth of torch.autograd.gradcheck's tolerances (atol 1e-5, rtol 1e-3), at which a backward
// off by 0.05% would pass; central differences of these float64 functions are good to about 1e-9.
inline constexpr GradCheckOptions kLayerCheck{.atol = 1e-7, .rtol = 1e-5};
// The same in fast mode (one random projection per input), for the largest layers.
inline constexpr GradCheckOptions kLayerCheckFast{.atol = kLayerCheck.atol, .rtol = kLayerCheck.rtol, .fast = true};

// A gradient check as a test expectation, its report printed when it fails.
inline void expect_gradcheck(const std::string& name, const TensorFunction& f, const std::vector<Tensor>& inputs,
                             GradCheckOptions options = kLayerCheck) {
  const GradCheckResult r = gradcheck(name, f, inputs, options);
  EXPECT_TRUE(r.ok) << r.report;
}

// First and second derivatives: gradcheck with `first`, then gradgradcheck (with respect to the
// inputs and the upstream gradient) with `second`, or the same options when none are given.
inline void expect_derivatives(const std::string& name, const TensorFunction& f, const std::vector<Tensor>& inputs,
                               GradCheckOptions first = kLayerCheck, std::optional<GradCheckOptions> second = std::nullopt) {
  expect_gradcheck(name, f, inputs, first);
  const GradCheckResult r = gradgradcheck(name, f, inputs, second.value_or(first));
  EXPECT_TRUE(r.ok) << r.report;
}

}  // namespace seqgrad::test_support
