#pragma once
// Module: named parameters and sub-modules with PyTorch-style dotted names ("encoder.weight_ih",
// "self_attn.in_proj_weight"), gradient zeroing and train/eval mode. Layers derive from it and
// register what they own in their constructors; the registration order is the iteration order, so
// optimizers and checkpoints see parameters in one stable order.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "seqgrad/graph/random.hpp"
#include "seqgrad/graph/tensor.hpp"

namespace seqgrad::nn {

using NamedParameters = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;  // parameters are shared handles: copying a module would alias them
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its sub-modules, depth first, in registration order.
  NamedParameters named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::size_t num_parameters() const;  // total number of elements
  Tensor parameter(const std::string& dotted_name) const;  // throws naming the unknown name

  void zero_grad();
  // Training mode (dropout active) for this module and every sub-module.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

 protected:
  // Registers `value` as a parameter (it becomes a leaf that requires grad) and returns it.
  Tensor register_parameter(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, NamedParameters& out) const;

  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Initialisers (in place, outside the graph), drawing from `gen` so a seed fixes every weight.
namespace init {
void uniform_(Tensor& t, double lo, double hi, Generator& gen);
void normal_(Tensor& t, double mean, double stddev, Generator& gen);
// PyTorch's default for Linear and the RNN cells: U(-1/sqrt(fan), 1/sqrt(fan)).
void fan_uniform_(Tensor& t, std::size_t fan, Generator& gen);
// Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (attention projections).
void xavier_uniform_(Tensor& t, Generator& gen);
}  // namespace init

}  // namespace seqgrad::nn
