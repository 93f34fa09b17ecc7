#pragma once
// Reverse-mode differentiation: one walk of the graph from results back to the tensors they depend
// on. backward() adds gradients into leaves' .grad (as torch's Tensor.backward); grad() returns
// them as values (as torch.autograd.grad). With create_graph, the walk records the gradients'
// computation, so they can be differentiated again, to any order.
#include <vector>

#include "seqgrad/graph/node.hpp"

namespace seqgrad {

struct BackwardOptions {
  bool retain_graph = false;  // keep the saved values, so backward may run through this graph again
  // Leaves found here get their gradient added to the mapped tensor instead of their .grad (one set
  // of buffers per data-parallel shard, summed afterwards in a fixed order). Null: every leaf's .grad.
  const GradSinks* grad_sinks = nullptr;
  // Record the gradients' computation: .grad then holds tensors with a history, which backward or
  // grad can differentiate again. Implies retain_graph (the second walk goes through this graph).
  // As in PyTorch, a leaf's .grad then holds a graph that holds the leaf: the cycle lasts until
  // .grad is replaced (zero_grad() does so); grad() makes none.
  bool create_graph = false;
};

// Adds d(root)/d(leaf) to the .grad of every leaf that requires a gradient and that root depends on.
// `upstream` is the gradient of some scalar with respect to root; it may be omitted (taken as 1) only
// when root holds one element. Intermediate gradients and, unless retain_graph, the values saved for
// backward go back to the buffer pool as soon as the walk has used them.
void backward(const Tensor& root, const Tensor& upstream = Tensor(), BackwardOptions options = {});

struct GradOptions {
  // The gradient of some scalar with respect to each output (as backward's upstream); may be empty,
  // or hold undefined tensors, for outputs of one element (taken as 1).
  std::vector<Tensor> grad_outputs = {};
  bool retain_graph = false;  // as BackwardOptions; create_graph implies it
  bool create_graph = false;  // the returned gradients have a history, to differentiate again
  // An input that no output depends on gets an undefined tensor; without allow_unused it is an error.
  bool allow_unused = false;
};

// The gradients of sum_k <outputs[k], grad_outputs[k]> with respect to each of `inputs` (leaves or
// results of ops), in order; .grad is left alone. Only the paths from the outputs to the inputs are
// walked.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         GradOptions options = {});

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
