#pragma once
// Nodes of the define-by-run graph. An op computes its value at once and, when any input wants a
// gradient and grad mode is on, records one Node: its inputs' nodes (the edges the backward walk
// follows), the values its backward needs (captured by the backward closure) and the backward itself.
//
// The graph is reference-counted, as in PyTorch: a result holds its node, a node holds its inputs'
// nodes. Forward passes that never call backward leave nothing behind, and intermediate buffers go
// back to the pool as soon as the last tensor or closure using them is gone.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "seqgrad/graph/tensor.hpp"

namespace seqgrad {

class GradInputs;
// Where a leaf's gradient goes instead of its .grad during one backward walk (data-parallel training
// gives each shard its own buffers this way; see BackwardOptions::grad_sinks).
using GradSinks = std::unordered_map<const TensorImpl*, Tensor*>;
// Called once per backward walk with the gradient of the op's output. It adds (+=) each input's
// gradient into grads: an op's backward never overwrites, so fan-out sums for free.
using BackwardFn = std::function<void(const Tensor& grad_out, GradInputs& grads)>;

struct Node {
  std::string op;
  std::vector<std::shared_ptr<Node>> next;  // per input: its node, or null when it needs no gradient
  Shape shape;                              // of the output (for a leaf accumulator: of the leaf)
  DType dtype = DType::f32;
  BackwardFn backward;                      // empty once freed (after a backward without retain_graph)
  std::uint64_t seq = 0;                    // creation order on its thread
  // Set only on a leaf's gradient accumulator: the leaf whose .grad collects what arrives here.
  // Accumulators are sinks that the backward walk never mutates, so threads may share them.
  bool leaf_accumulator = false;
  std::weak_ptr<TensorImpl> leaf;

  // Scratch state of the backward walk in progress (one walk per graph at a time).
  Tensor grad;
  std::uint64_t walk = 0;
  int pending = 0;
};

// One term dest += a^T b of a weight's gradient: a holds `rows` rows of a_cols values, b `rows` rows of
// b_cols values (for y = x W^T: a = dy, b = x; dest [a_cols, b_cols]).
struct ProductTerm {
  Tensor a, b;
  std::size_t rows, a_cols, b_cols;
};
// Adds the sum of the terms (all with one a_cols and b_cols) to dest: the op that made them knows how.
struct ProductKernel {
  const char* op;  // named in errors
  void (*add)(Tensor& dest, const std::vector<ProductTerm>& terms);
};

// Weight-gradient terms held back until the end of a backward walk. A weight that many ops share (a
// recurrent cell's, used once per time step) gets one thin product per use; at batch 1 each is an outer
// product that reads and writes all of dW for a few flops. Summed as one product over every use's rows,
// they run at matrix-product speed. A leaf's gradient is read only after the walk, so waiting is safe;
// the terms of each leaf are added in the order they arrived, so results do not depend on threads.
class DeferredProducts {
 public:
  using Check = std::function<void(const char* op, const Tensor& dest)>;
  void add(Tensor& dest, ProductTerm term, ProductKernel kernel);
  // Runs every held sum (first-come order) and forgets them; calls check(op, dest), when given,
  // after each one.
  void run(const Check& check = nullptr);

 private:
  struct Sum {
    Tensor* dest;
    ProductKernel kernel;
    std::vector<ProductTerm> terms;
  };
  std::vector<Sum> sums_;
};

// How one backward walk runs, as GradInputs sees it.
struct WalkSettings {
  const GradSinks* sinks = nullptr;      // leaves whose gradient goes elsewhere than their .grad
  DeferredProducts* deferred = nullptr;  // where weights' product terms wait for the walk's end
  // create_graph: gradients are computed by recorded ops (GradInputs::add), so that they can be
  // differentiated again; an op whose backward writes raw buffers refuses, naming itself.
  bool create_graph = false;
  // grad(outputs, inputs): only the nodes on a path to an input get gradients; null: every node.
  const std::unordered_set<const Node*>* needed = nullptr;
};

// The inputs' gradient buffers handed to a BackwardFn.
//
// Two ways to write a backward. add(i, g) takes a gradient computed by seqgrad ops: it works in
// every walk, and under create_graph the ops are recorded, so second order comes for free. The raw
// accessors (buffer, buffer_to_write, accumulate, accumulate_product) are the fast path for kernels
// that write gradients themselves; under create_graph they throw naming the op, so an op that has
// only a raw backward says so instead of giving a silently wrong second derivative. A fast op
// supports both by starting its backward with `if (g.create_graph()) { ...add(...)...; return; }`.
class GradInputs {
 public:
  explicit GradInputs(const std::vector<std::shared_ptr<Node>>& next, const GradSinks* sinks = nullptr,
                      DeferredProducts* deferred = nullptr)
      : next_(next), settings_{sinks, deferred} {}
  // `node` is the running op's node as its owner holds it (output() makes it a result's producer).
  GradInputs(const std::shared_ptr<Node>& node, const WalkSettings& settings)
      : next_(node->next), node_(&node), settings_(settings) {}
  GradInputs(const std::vector<std::shared_ptr<Node>>& next, const WalkSettings& settings)
      : next_(next), settings_(settings) {}
  std::size_t size() const { return next_.size(); }
  bool needs(std::size_t i) const {
    return next_[i] != nullptr && (!settings_.needed || settings_.needed->count(next_[i].get()) != 0);
  }
  bool create_graph() const { return settings_.create_graph; }
  // Adds g, a gradient of input i's shape or one broadcasting to it (summed back), to input i's
  // gradient. Under create_graph the sum is recorded; otherwise it is accumulate(i, g). Does
  // nothing when input i needs no gradient.
  void add(std::size_t i, const Tensor& g);
  // The op's result as a backward formula should use it: under create_graph, the saved value
  // (out.detach(), as captured) with this node as its producer; otherwise `saved` itself.
  Tensor output(const Tensor& saved) const;
  // Input i's gradient so far, undefined when none has arrived (for checks after the backward).
  const Tensor& current(std::size_t i);
  const Shape& shape(std::size_t i) const { return next_[i]->shape; }  // input i's (and its gradient's)
  // The buffer input i's gradient accumulates into, zero-filled on first use. For a leaf this is its
  // .grad itself (or its sink, when the walk has one for it), so parameter gradients are written
  // once, not copied.
  Tensor& buffer(std::size_t i);
  // Like buffer(i) without the zero fill when nothing has reached input i yet: then `fresh` is true,
  // the buffer's contents are unspecified and the caller must write (=) every element rather than
  // add (+=); a product writes with beta = 0. Fill a buffer with zeros only to add to it, and the
  // zeros cost a pass over memory. Call it right before writing input i's gradient (two inputs may
  // be one tensor: the second call then finds the first one's gradient and is not fresh).
  Tensor& buffer_to_write(std::size_t i, bool& fresh);
  // buffer(i) += g, with g's broadcast dimensions summed back to input i's shape.
  void accumulate(std::size_t i, const Tensor& g);
  // accumulate(i, g) for a g with input i's element count (viewed in its shape), which may hand
  // over g's buffer instead of copying it: when nothing has reached input i yet, input i is not a
  // leaf, and g is the only handle to its tensor and its data (the gradient the walk passed to this
  // backward, which it drops afterwards). The backward of a reshape passes its gradient on this way.
  void pass_on(std::size_t i, const Tensor& g);
  // buffer(i) += term.a^T term.b through kernel: for a leaf (a weight), held back and summed with the
  // leaf's other terms in one product at the end of the walk; for anything else, at once. The term
  // keeps a and b alive until then; neither may change before the walk ends.
  void accumulate_product(std::size_t i, ProductTerm term, ProductKernel kernel);

 private:
  Tensor& slot(std::size_t i);  // where input i's gradient lives (possibly still undefined)
  Tensor& raw_slot(std::size_t i, const char* accessor);  // slot(i), refusing under create_graph

  const std::vector<std::shared_ptr<Node>>& next_;
  const std::shared_ptr<Node>* node_ = nullptr;  // the op whose backward runs (null when built from `next` alone)
  WalkSettings settings_;
};

namespace detail {
// The recorded ops that create_graph walks sum gradients with (GradInputs::add); each one's own
// backward uses the others, so gradients of gradients of any order stay in the graph.
Tensor sum_to(const Tensor& g, const Shape& shape);     // broadcast dimensions summed away
Tensor expand_to(const Tensor& g, const Shape& shape);  // broadcast copy (sum_to's backward)
Tensor gradient_sum(const Tensor& a, const Tensor& b);  // a + b, same shape
Tensor gradient_copy(const Tensor& g);                  // what a leaf's .grad keeps: its own tensor
}  // namespace detail

// Records `out` as the result of op `op` over `inputs` with the given backward, when grad mode is on
// and any input requires a gradient; returns `out`. This is the one way an op enters the graph, for
// the library's ops and for users' own ops alike. Backward closures must capture the output only
// through out.detach() (capturing `out` itself would make a reference cycle).
Tensor record(const char* op, std::initializer_list<Tensor> inputs, Tensor out, BackwardFn backward);
Tensor record(const std::string& op, const std::vector<Tensor>& inputs, Tensor out, BackwardFn backward);

// Throws naming `op` and the input shapes when `out` holds a NaN or an infinity (anomaly mode).
void check_finite(const std::string& op, const std::vector<Tensor>& inputs, const Tensor& out);

}  // namespace seqgrad
