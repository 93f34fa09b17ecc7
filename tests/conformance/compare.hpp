#pragma once
// Elementwise closeness as in FORMAT.md, computed in float64: |got - want| <= atol + rtol * |want|.
#include <optional>
#include <string>

#include "golden_case.hpp"

namespace seqgrad::conformance {

struct Mismatch {
  std::string index;  // "[1,2]" ("[]" for a scalar)
  double got = 0.0;
  double want = 0.0;
  double allowed = 0.0;  // atol + rtol * |want|
  double excess = 0.0;   // |got - want| - allowed; infinite when either side is NaN
  std::size_t flat = 0;  // row-major position
};

// The element furthest outside the tolerance, or nothing when every element is within it.
// got and want must have the same shape.
std::optional<Mismatch> worst_mismatch(const Tensor& got, const Tensor& want, Tolerance tolerance);

// The multi-index of the flat (row-major) position `flat` in `shape`, as "[i,j,...]".
std::string index_string(const Shape& shape, std::size_t flat);

}  // namespace seqgrad::conformance
