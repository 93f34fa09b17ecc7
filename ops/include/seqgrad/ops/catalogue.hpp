#pragma once
// The op catalogue: the one list of differentiable ops that tools iterate, each op once. An entry
// says what an op is (name, number of tensor inputs, float dtypes, how to apply it), not how to test
// it: the gradient-check cases, with the parameters they call an op with, live in tests/op_cases/,
// and tests/test_op_gradients.cpp fails for an op of the catalogue that has none. Where an op and
// a family of ops go: op_families.def.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "seqgrad/graph/tensor.hpp"

namespace seqgrad {

struct OpEntry {
  static constexpr std::size_t any_arity = 0;  // concat, stack: one or more inputs

  std::string name;
  std::size_t arity;  // number of inputs, index tensors included; any_arity when variadic
  // inputs -> result, with the op's other parameters at their defaults; empty when a parameter has
  // none (pow's exponent, reshape's shape, an axis), so a caller must say it.
  std::function<Tensor(const std::vector<Tensor>&)> apply{};
  std::vector<DType> dtypes{DType::f32, DType::f64};     // float dtypes of the float inputs
};

class OpCatalogue {
 public:
  void add(OpEntry entry);  // throws when the name is taken
  const std::vector<OpEntry>& entries() const { return entries_; }
  const OpEntry& find(const std::string& name) const;  // throws when unknown

 private:
  std::vector<OpEntry> entries_;
};

// Every op of the library, registered on first use.
const OpCatalogue& op_catalogue();

// Each family's registration function, in its source file; op_catalogue() calls them in order.
#define SEQGRAD_OP_FAMILY(FAMILY, HEADER, SOURCE) void register_##FAMILY##_ops(OpCatalogue& c);
#include "seqgrad/ops/op_families.def"
#undef SEQGRAD_OP_FAMILY

}  // namespace seqgrad
