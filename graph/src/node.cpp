#include "seqgrad/graph/node.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "recycling.hpp"
#include "seqgrad/graph/context.hpp"
#include "seqgrad/graph/kernels.hpp"

namespace seqgrad {

GraphContext& graph_context() {
  thread_local GraphContext ctx;
  return ctx;
}

Tensor& GradInputs::slot(std::size_t i) {
  Node& n = *next_[i];
  if (!n.leaf_accumulator) return n.grad;
  auto leaf = n.leaf.lock();
  if (!leaf) return n.grad;  // the leaf is gone: its gradient has nowhere to go, collect it in scratch
  if (settings_.sinks) {
    auto it = settings_.sinks->find(leaf.get());
    if (it != settings_.sinks->end()) return *it->second;
  }
  return leaf->grad;
}

Tensor& GradInputs::raw_slot(std::size_t i, const char* accessor) {
  if (settings_.create_graph)
    throw std::runtime_error("create_graph: the backward of '" + (node_ ? (*node_)->op : std::string("?")) +
                             "' writes raw gradient buffers (GradInputs::" + accessor +
                             "), so its gradient cannot be differentiated again; write it with seqgrad ops "
                             "and GradInputs::add to support second order");
  Tensor& s = slot(i);
  // A gradient that an earlier create_graph walk recorded may be used in a graph: never write into it.
  if (s.defined() && s.requires_grad()) s = s.detach().clone();
  return s;
}

Tensor& GradInputs::buffer(std::size_t i) {
  Tensor& s = raw_slot(i, "buffer");
  if (!s.defined()) s = Tensor::zeros(next_[i]->shape, next_[i]->dtype);
  return s;
}

Tensor& GradInputs::buffer_to_write(std::size_t i, bool& fresh) {
  Tensor& s = raw_slot(i, "buffer_to_write");
  fresh = !s.defined();
  if (fresh) s = Tensor::empty(next_[i]->shape, next_[i]->dtype);
  return s;
}

const Tensor& GradInputs::current(std::size_t i) { return slot(i); }

void GradInputs::accumulate(std::size_t i, const Tensor& g) {
  if (g.dtype() != next_[i]->dtype)
    throw std::invalid_argument("backward of " + next_[i]->op + ": gradient dtype " + dtype_name(g.dtype()) +
                                " does not match " + dtype_name(next_[i]->dtype));
  bool fresh = false;
  Tensor& buf = g.shape() == next_[i]->shape ? buffer_to_write(i, fresh) : buffer(i);
  dispatch_float(buf.dtype(), "accumulate", [&](auto tag) {
    using T = decltype(tag);
    if (fresh) {
      std::copy_n(g.data<T>(), g.numel(), buf.data<T>());
    } else if (g.shape() == buf.shape()) {
      T* d = buf.data<T>();
      const T* s = g.data<T>();
      for (std::size_t k = 0, n = buf.numel(); k < n; ++k) d[k] += s[k];
    } else {
      if (g.dim() < buf.dim() || broadcast_shapes(buf.shape(), g.shape(), "accumulate") != g.shape())
        throw std::invalid_argument("accumulate: gradient of shape " + to_string(g.shape()) +
                                    " cannot be summed to the input's shape " + to_string(buf.shape()));
      kernels::sum_to_shape_add(g.data<T>(), g.shape(), buf.data<T>(), buf.shape());
    }
  });
}

void GradInputs::pass_on(std::size_t i, const Tensor& g) {
  Node& n = *next_[i];
  const bool only_holder = g.use_count() == 1 && g.impl()->storage.use_count() == 1;
  const Tensor input_shaped = g.shape() == n.shape ? g : g.reshaped_view(n.shape);
  if (only_holder && !settings_.create_graph && !n.leaf_accumulator && !n.grad.defined() && g.dtype() == n.dtype) {
    n.grad = input_shaped;
    return;
  }
  accumulate(i, input_shaped);
}

void GradInputs::add(std::size_t i, const Tensor& g) {
  if (!needs(i)) return;
  if (!settings_.create_graph) return accumulate(i, g);
  if (g.dtype() != next_[i]->dtype)
    throw std::invalid_argument("backward of " + next_[i]->op + ": gradient dtype " + dtype_name(g.dtype()) +
                                " does not match " + dtype_name(next_[i]->dtype));
  const Tensor t = g.shape() == next_[i]->shape ? g : detail::sum_to(g, next_[i]->shape);
  Tensor& s = slot(i);
  // Sums are out of place: an earlier gradient may be saved by the ops that used it. A leaf keeps a
  // tensor of its own, so that later in-place work on its .grad touches nothing else.
  if (s.defined()) s = detail::gradient_sum(s, t);
  else s = next_[i]->leaf_accumulator ? detail::gradient_copy(t) : t;
}

Tensor GradInputs::output(const Tensor& saved) const {
  if (!settings_.create_graph || !node_) return saved;
  Tensor y = saved.detach();
  y.impl()->grad_fn = *node_;
  y.impl()->requires_grad = true;
  return y;
}

void GradInputs::accumulate_product(std::size_t i, ProductTerm term, ProductKernel kernel) {
  Tensor& dest = buffer(i);
  if (settings_.deferred && next_[i]->leaf_accumulator) return settings_.deferred->add(dest, std::move(term), kernel);
  kernel.add(dest, {std::move(term)});
}

void DeferredProducts::add(Tensor& dest, ProductTerm term, ProductKernel kernel) {
  // A handful of weights per walk: a linear search beats hashing.
  for (Sum& s : sums_)
    if (s.dest == &dest) {
      if (s.kernel.add != kernel.add || s.terms.front().a_cols != term.a_cols || s.terms.front().b_cols != term.b_cols)
        throw std::logic_error("backward: weight-gradient terms of one leaf disagree in kind or shape");
      s.terms.push_back(std::move(term));
      return;
    }
  sums_.push_back({&dest, kernel, {}});
  sums_.back().terms.reserve(32);  // a sequence's worth of time steps without regrowing
  sums_.back().terms.push_back(std::move(term));
}

void DeferredProducts::run(const Check& check) {
  std::vector<Sum> sums = std::move(sums_);
  sums_.clear();
  for (Sum& s : sums) {
    s.kernel.add(*s.dest, s.terms);
    if (check) check(s.kernel.op, *s.dest);
  }
}

void check_finite(const std::string& op, const std::vector<Tensor>& inputs, const Tensor& out) {
  if (!is_floating(out.dtype())) return;
  const bool bad = dispatch_float(out.dtype(), "check_finite", [&](auto tag) {
    using T = decltype(tag);
    const T* p = out.data<T>();
    for (std::size_t i = 0; i < out.numel(); ++i)
      if (!std::isfinite(p[i])) return true;
    return false;
  });
  if (!bad) return;
  std::string shapes;
  for (const auto& t : inputs) shapes += (shapes.empty() ? "" : ", ") + (t.defined() ? to_string(t.shape()) : "-");
  const char* backward_of = graph_context().in_backward_of;
  throw std::runtime_error("anomaly: op '" + op + "' produced NaN or Inf (output " + to_string(out.shape()) +
                           ", inputs " + shapes + ")" +
                           (backward_of ? std::string(" in the backward of '") + backward_of + "' (create_graph)" : ""));
}

namespace {

template <class Inputs>
Tensor record_impl(std::string op, const Inputs& inputs, Tensor out, BackwardFn backward) {
  GraphContext& ctx = graph_context();
  if (ctx.anomaly_mode) check_finite(op, std::vector<Tensor>(inputs.begin(), inputs.end()), out);
  if (!ctx.grad_enabled) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return out;
  auto node = std::allocate_shared<Node>(detail::RecyclingAllocator<Node>());
  node->op = std::move(op);
  node->next.reserve(inputs.size());
  for (const Tensor& t : inputs)
    node->next.push_back(t.defined() && t.requires_grad() ? t.grad_fn() : nullptr);
  node->shape = out.shape();
  node->dtype = out.dtype();
  node->backward = std::move(backward);
  node->seq = ctx.next_seq++;
  TensorImpl& o = *out.impl();
  o.grad_fn = std::move(node);
  o.requires_grad = true;
  return out;
}

}  // namespace

Tensor record(const char* op, std::initializer_list<Tensor> inputs, Tensor out, BackwardFn backward) {
  return record_impl(op, inputs, std::move(out), std::move(backward));
}

Tensor record(const std::string& op, const std::vector<Tensor>& inputs, Tensor out, BackwardFn backward) {
  return record_impl(op, inputs, std::move(out), std::move(backward));
}

}  // namespace seqgrad
