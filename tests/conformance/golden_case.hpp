#pragma once
// One PyTorch-parity case as read from its JSON file (format: tests/golden/FORMAT.md).
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "seqgrad/graph/tensor.hpp"

namespace seqgrad::conformance {

using NamedTensors = std::map<std::string, Tensor>;

struct Tolerance {
  double atol = 0.0;
  double rtol = 0.0;
};

// The second-order check: with g_i = dL/d input_i, the gradient of sum_i sum(g_i * d_i).
struct SecondOrder {
  NamedTensors directions;  // d_i for every input in grads
  NamedTensors hvp;         // expected d/d input [ sum_i sum(g_i * d_i) ], for every input in grads
};

struct GoldenCase {
  std::string name;   // "case"
  std::string op;     // selects the evaluator
  nlohmann::json attrs = nlohmann::json::object();
  NamedTensors inputs;    // float tensors as float64, integer tensors (indices, targets, masks) as int64
  NamedTensors outputs;   // expected, float64
  NamedTensors upstream;  // g_k for output y_k; L = sum_k sum(y_k * g_k)
  NamedTensors grads;     // expected dL/d input
  std::optional<SecondOrder> second_order;  // absent: first order only
  Tolerance tolerance;
};

// The file does not follow the format (bad JSON, missing key, data count not matching the shape...).
struct MalformedCase : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads and checks one case file; throws MalformedCase saying what is wrong.
GoldenCase load_case(const std::filesystem::path& file);

}  // namespace seqgrad::conformance
