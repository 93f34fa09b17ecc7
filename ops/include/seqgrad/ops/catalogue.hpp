#pragma once
// The op catalogue: the one list of differentiable ops that tools iterate (the gradient-check test,
// the benchmarks, documentation). Adding an op is one function plus one `add` in its file's
// register function.
#include <functional>
#include <string>
#include <vector>

#include "seqgrad/graph/random.hpp"

namespace seqgrad {

// One gradient-check situation of an op: float64 inputs (the checker differentiates every float
// input) and a label such as "broadcast [3,1] with [4]".
struct OpCase {
  std::string label;
  std::vector<Tensor> inputs;
};

struct OpEntry {
  std::string name;
  std::function<Tensor(const std::vector<Tensor>&)> apply;  // inputs -> result
  std::function<std::vector<OpCase>(Generator&)> cases;     // gradient-check cases
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

// Helpers for writing cases: float64 values uniform in [lo, hi).
Tensor case_tensor(const Shape& shape, Generator& gen, double lo = -1.0, double hi = 1.0);

// Per-file registration functions, called by op_catalogue().
void register_elementwise_ops(OpCatalogue& c);
void register_linalg_ops(OpCatalogue& c);
void register_reduce_ops(OpCatalogue& c);
void register_shape_ops(OpCatalogue& c);
void register_index_ops(OpCatalogue& c);
void register_nn_ops(OpCatalogue& c);

}  // namespace seqgrad
