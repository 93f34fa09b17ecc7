#include "seqgrad/autodiff/backward.hpp"

#include <atomic>
#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "seqgrad/graph/context.hpp"

namespace seqgrad {

namespace {

std::atomic<std::uint64_t> walk_counter{0};

// Sets this thread's grad mode for a scope: off for a plain walk (the backward closures' raw
// kernels must not be recorded), on under create_graph (their ops must be).
class GradModeScope {
 public:
  explicit GradModeScope(bool on) : previous_(graph_context().grad_enabled) { graph_context().grad_enabled = on; }
  ~GradModeScope() { graph_context().grad_enabled = previous_; }
  GradModeScope(const GradModeScope&) = delete;
  GradModeScope& operator=(const GradModeScope&) = delete;

 private:
  bool previous_;
};

// Counts, for every interior node reachable from the roots, how many reachable nodes feed it a
// gradient. Leaf accumulators are sinks and are left untouched (worker threads share them).
void count_dependencies(const std::vector<const std::shared_ptr<Node>*>& roots, std::uint64_t walk) {
  std::vector<Node*> stack;
  for (const std::shared_ptr<Node>* root : roots)
    if (Node* r = root->get(); r->walk != walk) {
      r->walk = walk;
      r->pending = 0;
      stack.push_back(r);
    }
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

// grad(): where the inputs' gradients are collected, and which nodes lie on a path to an input.
struct Targets {
  std::vector<const Node*> nodes;        // per input, its node (an op's or a leaf's accumulator)
  std::vector<Tensor> results;           // per input, its gradient (sized once: sinks point here)
  GradSinks sinks;                       // leaf inputs -> their result; other leaves -> a discard
  std::deque<Tensor> discards;           // where gradients of leaves grad() was not asked for go
  std::unordered_set<const Node*> needed;

  bool is_target(const Node* n) const {
    for (const Node* t : nodes)
      if (t == n) return true;
    return false;
  }

  // Marks every node from which an input's node can be reached (a post-order walk), and points
  // every other leaf reached at a discard, so that an op that does not ask needs() writes nothing
  // the caller can see.
  void find_needed(const std::vector<std::shared_ptr<Node>>& roots) {
    for (const Node* n : nodes)
      if (n->leaf_accumulator) needed.insert(n);
    std::unordered_set<const Node*> visited;
    std::vector<std::pair<Node*, std::size_t>> stack;
    // One root at a time: a node is judged once all below it are, and one output may lie below
    // another (an LSTM's c under its h), so no root may wait on the stack while another is walked.
    for (const auto& root : roots) {
      Node* r = root.get();
      if (r->leaf_accumulator || !visited.insert(r).second) continue;
      stack.emplace_back(r, 0);
      while (!stack.empty()) {
        Node* n = stack.back().first;
        std::size_t& k = stack.back().second;
        if (k < n->next.size()) {
          Node* c = n->next[k++].get();
          if (!c) continue;
          if (c->leaf_accumulator) {
            if (!needed.count(c) && visited.insert(c).second)
              if (auto leaf = c->leaf.lock()) sinks.emplace(leaf.get(), &discards.emplace_back());
          } else if (visited.insert(c).second) {
            stack.emplace_back(c, 0);
          }
          continue;
        }
        bool need = is_target(n);
        for (const auto& c : n->next) need = need || (c && needed.count(c.get()));
        if (need) needed.insert(n);
        stack.pop_back();
      }
    }
  }

  // True when some node below n still needs a gradient (so n's backward must run).
  bool needed_below(const Node& n) const {
    for (const auto& c : n.next)
      if (c && needed.count(c.get())) return true;
    return false;
  }
};

// Names the op whose backward runs, for the anomaly checks of the ops its create_graph formula records.
class InBackwardOf {
 public:
  explicit InBackwardOf(const char* op) : previous_(graph_context().in_backward_of) {
    graph_context().in_backward_of = op;
  }
  ~InBackwardOf() { graph_context().in_backward_of = previous_; }
  InBackwardOf(const InBackwardOf&) = delete;
  InBackwardOf& operator=(const InBackwardOf&) = delete;

 private:
  const char* previous_;
};

struct Walk {
  std::vector<std::shared_ptr<Node>> roots;
  std::vector<Tensor> seeds;  // per root
  bool retain_graph = false;
  bool create_graph = false;
  const GradSinks* sinks = nullptr;
  Targets* targets = nullptr;  // grad(): collect here; backward(): null
};

void check_gradients(const Node& n, const Tensor& grad_out, GradInputs& gi) {
  for (std::size_t i = 0; i < gi.size(); ++i)
    if (gi.needs(i) && gi.current(i).defined()) check_finite("backward of " + n.op, {grad_out}, gi.current(i));
}

void run(Walk& w) {
  GradModeScope mode(w.create_graph);
  const bool anomaly = graph_context().anomaly_mode;
  const bool retain = w.retain_graph || w.create_graph;
  DeferredProducts deferred;  // weights' per-use gradient terms, summed once the walk is over
  WalkSettings settings;
  settings.sinks = w.targets ? &w.targets->sinks : w.sinks;
  settings.deferred = w.create_graph ? nullptr : &deferred;
  settings.create_graph = w.create_graph;
  settings.needed = w.targets ? &w.targets->needed : nullptr;

  // Seeds: a leaf root takes its seed at once (d leaf / d leaf = 1); an op's root holds it until
  // its node runs. A root given twice gets the sum.
  std::vector<const std::shared_ptr<Node>*> interior;
  for (std::size_t r = 0; r < w.roots.size(); ++r) {
    if (w.roots[r]->leaf_accumulator) {
      const std::vector<std::shared_ptr<Node>> self{w.roots[r]};
      GradInputs(self, settings).add(0, w.seeds[r]);
    } else {
      interior.push_back(&w.roots[r]);
    }
  }
  const std::uint64_t walk = ++walk_counter;
  count_dependencies(interior, walk);
  for (std::size_t r = 0; r < w.roots.size(); ++r) {
    Node* n = w.roots[r].get();
    if (n->leaf_accumulator) continue;
    // A root below another root gets more gradient during the walk, which the raw path adds in
    // place: there it holds a copy, never the caller's grad_outputs tensor.
    const bool written_into = n->pending > 0 && !w.create_graph;
    n->grad = n->grad.defined() ? detail::gradient_sum(n->grad, w.seeds[r])
                                : (written_into ? w.seeds[r].clone() : w.seeds[r]);
  }

  // A node runs once every node that feeds it has run (pending reaches 0); a stack of ready nodes
  // gives a valid reverse topological order without sorting. The stack holds the shared_ptr that
  // owns each node (the root's, or its consumer's `next` entry): every node of the graph stays
  // alive during the walk, and GradInputs::output() needs it.
  std::vector<const std::shared_ptr<Node>*> ready;
  for (const std::shared_ptr<Node>* root : interior)
    if ((*root)->pending == 0 &&
        std::none_of(ready.begin(), ready.end(), [&](const std::shared_ptr<Node>* q) { return q->get() == root->get(); }))
      ready.push_back(root);
  while (!ready.empty()) {
    const std::shared_ptr<Node>& owner = *ready.back();
    ready.pop_back();
    Node* n = owner.get();
    Tensor grad_out = std::move(n->grad);
    n->grad = Tensor();
    bool run_it = grad_out.defined();  // undefined when no path carried a gradient here
    if (w.targets) {
      for (std::size_t k = 0; k < w.targets->nodes.size(); ++k)
        if (w.targets->nodes[k] == n && grad_out.defined()) w.targets->results[k] = grad_out;
      run_it = run_it && w.targets->needed_below(*n);
    }
    if (run_it && !n->backward)
      throw std::runtime_error("backward: the graph through '" + n->op +
                               "' was already freed by an earlier backward; pass retain_graph = true to the "
                               "first backward to run backward through it again");
    if (run_it) {
      GradInputs gi(owner, settings);
      std::optional<InBackwardOf> naming;  // only where it is read: the plain walk pays nothing
      if (anomaly && w.create_graph) naming.emplace(n->op.c_str());
      n->backward(grad_out, gi);
      if (anomaly) check_gradients(*n, grad_out, gi);
    }
    if (!retain) n->backward = nullptr;  // frees what the op saved for backward
    for (const auto& next : n->next) {
      if (!next || next->leaf_accumulator) continue;
      if (--next->pending == 0) ready.push_back(&next);
    }
  }
  deferred.run(anomaly ? [](const char* op, const Tensor& dest) {
    check_finite(std::string("backward of ") + op + " (a weight's gradient summed over its uses)", {}, dest);
  } : DeferredProducts::Check());
}

Tensor seed_for(const Tensor& root, const Tensor& upstream, const char* api, std::size_t k) {
  if (!upstream.defined()) {
    if (root.numel() != 1)
      throw std::invalid_argument(std::string(api) + ": an upstream gradient is needed for a non-scalar result of shape " +
                                  to_string(root.shape()) + (k ? " (output " + std::to_string(k) + ")" : ""));
    return Tensor::ones(root.shape(), root.dtype());
  }
  if (upstream.shape() != root.shape() || upstream.dtype() != root.dtype())
    throw std::invalid_argument(std::string(api) + ": upstream gradient " + to_string(upstream.shape()) + " " +
                                dtype_name(upstream.dtype()) + " does not match the result " +
                                to_string(root.shape()) + " " + dtype_name(root.dtype()));
  return upstream;
}

}  // namespace

void backward(const Tensor& root, const Tensor& upstream, BackwardOptions options) {
  if (!root.requires_grad())
    throw std::invalid_argument(
        "backward: the tensor does not require grad (no input of the ops that made it requires grad, or it was "
        "computed under NoGradGuard)");
  Walk w;
  w.roots = {root.grad_fn()};
  w.seeds = {seed_for(root, upstream, "backward", 0)};
  w.retain_graph = options.retain_graph;
  w.create_graph = options.create_graph;
  w.sinks = options.grad_sinks;
  run(w);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs, GradOptions options) {
  if (outputs.empty()) throw std::invalid_argument("grad: no outputs given");
  if (inputs.empty()) throw std::invalid_argument("grad: no inputs given");
  if (!options.grad_outputs.empty() && options.grad_outputs.size() != outputs.size())
    throw std::invalid_argument("grad: " + std::to_string(options.grad_outputs.size()) + " grad_outputs for " +
                                std::to_string(outputs.size()) + " outputs");
  Targets targets;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad())
      throw std::invalid_argument("grad: input " + std::to_string(i) + (inputs[i].defined() ? " " + to_string(inputs[i].shape()) : "") +
                                  " does not require grad");
    targets.nodes.push_back(inputs[i].grad_fn().get());
  }
  targets.results.resize(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].is_leaf()) targets.sinks.emplace(inputs[i].impl(), &targets.results[i]);

  Walk w;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (!outputs[k].defined() || !outputs[k].requires_grad())
      throw std::invalid_argument("grad: output " + std::to_string(k) +
                                  " does not require grad (it depends on no input that requires grad)");
    w.roots.push_back(outputs[k].grad_fn());
    w.seeds.push_back(seed_for(outputs[k], options.grad_outputs.empty() ? Tensor() : options.grad_outputs[k], "grad", k));
  }
  targets.find_needed(w.roots);
  w.retain_graph = options.retain_graph;
  w.create_graph = options.create_graph;
  w.targets = &targets;
  run(w);

  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!targets.results[i].defined() && !options.allow_unused)
      throw std::invalid_argument("grad: input " + std::to_string(i) + " " + to_string(inputs[i].shape()) +
                                  " is not used to compute the outputs (pass allow_unused to get an undefined "
                                  "gradient for it)");
  return std::move(targets.results);
}

NoGradGuard::NoGradGuard() : previous_(graph_context().grad_enabled) { graph_context().grad_enabled = false; }
NoGradGuard::~NoGradGuard() { graph_context().grad_enabled = previous_; }

AnomalyModeGuard::AnomalyModeGuard(bool on) : previous_(graph_context().anomaly_mode) {
  graph_context().anomaly_mode = on;
}
AnomalyModeGuard::~AnomalyModeGuard() { graph_context().anomaly_mode = previous_; }

bool is_grad_enabled() { return graph_context().grad_enabled; }

}  // namespace seqgrad
