#pragma once
// The op catalogue: the one list of differentiable ops that tools iterate. Each entry says what an
// op is (name, number of inputs, float dtypes, how to apply it), not how to test it: the
// gradient-check cases live in tests/op_cases/, and tests/test_op_gradients.cpp fails for an op of
// the catalogue that has none. Adding an op is one function plus one `add` in its file's register
// function (called by op_catalogue()), plus its cases in tests/op_cases/.
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
  std::function<Tensor(const std::vector<Tensor>&)> apply;  // inputs -> result
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

// Per-file registration functions, called by op_catalogue().
void register_elementwise_ops(OpCatalogue& c);
void register_linalg_ops(OpCatalogue& c);
void register_reduce_ops(OpCatalogue& c);
void register_shape_ops(OpCatalogue& c);
void register_index_ops(OpCatalogue& c);
void register_nn_ops(OpCatalogue& c);

}  // namespace seqgrad
