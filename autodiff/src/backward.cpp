#include "seqgrad/autodiff/backward.hpp"

#include <atomic>
#include <string>
#include <vector>

#include "seqgrad/graph/context.hpp"

namespace seqgrad {

namespace {

std::atomic<std::uint64_t> walk_counter{0};

// Counts, for every interior node reachable from root, how many reachable nodes feed it a gradient.
// Leaf accumulators are sinks and are left untouched (worker threads share them).
void count_dependencies(Node* root, std::uint64_t walk) {
  std::vector<Node*> stack{root};
  root->walk = walk;
  root->pending = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const auto& next : n->next) {
      if (!next || next->leaf_accumulator) continue;
      if (next->walk != walk) {
        next->walk = walk;
        next->pending = 0;
        stack.push_back(next.get());
      }
      next->pending++;
    }
  }
}

}  // namespace

void backward(const Tensor& root, const Tensor& upstream, BackwardOptions options) {
  if (!root.requires_grad())
    throw std::invalid_argument(
        "backward: the tensor does not require grad (no input of the ops that made it requires grad, or it was "
        "computed under NoGradGuard)");
  if (!upstream.defined() && root.numel() != 1)
    throw std::invalid_argument("backward: an upstream gradient is needed for a non-scalar result of shape " +
                                to_string(root.shape()));
  if (upstream.defined() && (upstream.shape() != root.shape() || upstream.dtype() != root.dtype()))
    throw std::invalid_argument("backward: upstream gradient " + to_string(upstream.shape()) + " " +
                                dtype_name(upstream.dtype()) + " does not match the result " +
                                to_string(root.shape()) + " " + dtype_name(root.dtype()));

  NoGradGuard no_grad;  // the backward closures' own ops must not be recorded
  const bool anomaly = graph_context().anomaly_mode;
  Node* root_node = root.grad_fn().get();
  const Tensor seed = upstream.defined() ? upstream : Tensor::ones(root.shape(), root.dtype());

  if (root_node->leaf_accumulator) {  // backward from a leaf itself: d(leaf)/d(leaf) = 1
    std::vector<std::shared_ptr<Node>> self{root.grad_fn()};
    GradInputs(self, options.grad_sinks).accumulate(0, seed);
    return;
  }

  const std::uint64_t walk = ++walk_counter;
  count_dependencies(root_node, walk);
  root_node->grad = seed;

  // A node runs once every node that feeds it has run (pending reaches 0); a stack of ready nodes
  // gives a valid reverse topological order without sorting.
  DeferredProducts deferred;  // weights' per-use gradient terms, summed once the walk is over
  std::vector<Node*> ready{root_node};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    if (!n->backward)
      throw std::runtime_error("backward: the graph through '" + n->op +
                               "' was already freed by an earlier backward; pass retain_graph = true to the "
                               "first backward to run backward through it again");
    Tensor grad_out = std::move(n->grad);
    n->grad = Tensor();
    GradInputs gi(n->next, options.grad_sinks, &deferred);
    if (grad_out.defined()) {  // undefined when no path carried a gradient here
      n->backward(grad_out, gi);
      if (anomaly)
        for (std::size_t i = 0; i < gi.size(); ++i)
          if (gi.needs(i)) check_finite("backward of " + n->op, {grad_out}, gi.buffer(i));
    }
    if (!options.retain_graph) n->backward = nullptr;  // frees what the op saved for backward
    for (const auto& next : n->next) {
      if (!next || next->leaf_accumulator) continue;
      if (--next->pending == 0) ready.push_back(next.get());
    }
  }
  deferred.run(anomaly ? [](const char* op, const Tensor& dest) {
    check_finite(std::string("backward of ") + op + " (a weight's gradient summed over its uses)", {}, dest);
  } : DeferredProducts::Check());
}

NoGradGuard::NoGradGuard() : previous_(graph_context().grad_enabled) { graph_context().grad_enabled = false; }
NoGradGuard::~NoGradGuard() { graph_context().grad_enabled = previous_; }

AnomalyModeGuard::AnomalyModeGuard(bool on) : previous_(graph_context().anomaly_mode) {
  graph_context().anomaly_mode = on;
}
AnomalyModeGuard::~AnomalyModeGuard() { graph_context().anomaly_mode = previous_; }

bool is_grad_enabled() { return graph_context().grad_enabled; }

}  // namespace seqgrad
