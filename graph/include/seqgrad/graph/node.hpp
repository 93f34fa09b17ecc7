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

// The inputs' gradient buffers handed to a BackwardFn.
class GradInputs {
 public:
  explicit GradInputs(const std::vector<std::shared_ptr<Node>>& next, const GradSinks* sinks = nullptr)
      : next_(next), sinks_(sinks) {}
  std::size_t size() const { return next_.size(); }
  bool needs(std::size_t i) const { return next_[i] != nullptr; }
  // The buffer input i's gradient accumulates into, zero-filled on first use. For a leaf this is its
  // .grad itself (or its sink, when the walk has one for it), so parameter gradients are written
  // once, not copied.
  Tensor& buffer(std::size_t i);
  // buffer(i) += g, with g's broadcast dimensions summed back to input i's shape.
  void accumulate(std::size_t i, const Tensor& g);

 private:
  const std::vector<std::shared_ptr<Node>>& next_;
  const GradSinks* sinks_;
};

// Records `out` as the result of op `op` over `inputs` with the given backward, when grad mode is on
// and any input requires a gradient; returns `out`. This is the one way an op enters the graph, for
// the library's ops and for users' own ops alike. Backward closures must capture the output only
// through out.detach() (capturing `out` itself would make a reference cycle).
Tensor record(const char* op, std::initializer_list<Tensor> inputs, Tensor out, BackwardFn backward);
Tensor record(const std::string& op, const std::vector<Tensor>& inputs, Tensor out, BackwardFn backward);

// Throws naming `op` and the input shapes when `out` holds a NaN or an infinity (anomaly mode).
void check_finite(const std::string& op, const std::vector<Tensor>& inputs, const Tensor& out);

}  // namespace seqgrad
