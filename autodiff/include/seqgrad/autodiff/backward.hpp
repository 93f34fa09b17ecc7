#pragma once
// Reverse-mode differentiation: one walk of the graph from a result back to its leaves.
#include "seqgrad/graph/node.hpp"

namespace seqgrad {

struct BackwardOptions {
  bool retain_graph = false;  // keep the saved values, so backward may run through this graph again
  // Leaves found here get their gradient added to the mapped tensor instead of their .grad (one set
  // of buffers per data-parallel shard, summed afterwards in a fixed order). Null: every leaf's .grad.
  const GradSinks* grad_sinks = nullptr;
};

// Adds d(root)/d(leaf) to the .grad of every leaf that requires a gradient and that root depends on.
// `upstream` is the gradient of some scalar with respect to root; it may be omitted (taken as 1) only
// when root holds one element. Intermediate gradients and, unless retain_graph, the values saved for
// backward go back to the buffer pool as soon as the walk has used them.
void backward(const Tensor& root, const Tensor& upstream = Tensor(), BackwardOptions options = {});

// Turns recording off on this thread for the guard's lifetime (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// While alive, every op checks its output and the backward walk checks every gradient it produces;
// the first NaN or Inf raises an error naming the op and its input shapes.
class AnomalyModeGuard {
 public:
  explicit AnomalyModeGuard(bool on = true);
  ~AnomalyModeGuard();
  AnomalyModeGuard(const AnomalyModeGuard&) = delete;
  AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

 private:
  bool previous_;
};

bool is_grad_enabled();

}  // namespace seqgrad
